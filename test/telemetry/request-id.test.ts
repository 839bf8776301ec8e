import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newRequestId, resolveRequestId } from '../../src/telemetry/request-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const envoyDefaults = { generateRequestId: true, preserveExternalRequestId: false };

describe('x-request-id', () => {
  test('generated ids are distinct UUIDv4 strings', () => {
    const ids = new Set(Array.from({ length: 1000 }, newRequestId));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.match(id, UUID_V4);
  });

  test('a request without an id gets one', () => {
    assert.match(resolveRequestId(undefined, envoyDefaults, false)!, UUID_V4);
    assert.match(resolveRequestId('', envoyDefaults, false)!, UUID_V4);
  });

  test('an internal request keeps its id, so one id follows the request through the mesh', () => {
    assert.equal(resolveRequestId('abc-123', envoyDefaults, false), 'abc-123');
  });

  test('an edge request gets a fresh id by default: clients cannot choose ids inside the mesh', () => {
    const id = resolveRequestId('chosen-by-client', envoyDefaults, true)!;
    assert.notEqual(id, 'chosen-by-client');
    assert.match(id, UUID_V4);
  });

  test('preserveExternalRequestId keeps the edge client id', () => {
    assert.equal(resolveRequestId('chosen-by-client', { ...envoyDefaults, preserveExternalRequestId: true }, true), 'chosen-by-client');
    assert.match(resolveRequestId(undefined, { ...envoyDefaults, preserveExternalRequestId: true }, true)!, UUID_V4);
  });

  test('with generateRequestId off, what came in passes through and nothing is invented', () => {
    const off = { generateRequestId: false, preserveExternalRequestId: false };
    assert.equal(resolveRequestId('abc', off, true), 'abc');
    assert.equal(resolveRequestId(undefined, off, true), undefined);
  });
});
