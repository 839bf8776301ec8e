import assert from 'node:assert/strict';
import { test } from 'node:test';
import { knownHeaderName } from '../../src/proxy/http/known-header-names.js';

const at = (s: string) => knownHeaderName(Buffer.from(`:${s}:`, 'latin1'), 1, 1 + s.length);

test('known names are found in any letter case and returned lower-case', () => {
  assert.equal(at('Content-Length'), 'content-length');
  assert.equal(at('HOST'), 'host');
  assert.equal(at('x-B3-TraceId'), 'x-b3-traceid');
  assert.equal(at('te'), 'te');
});

test('anything else is not a known name, including near misses of the same length', () => {
  for (const s of ['Content-Lengtz', 'hosts', 'hos', 'x_request-id', 'x-request_id', 'content_type', 'custom-header', 'te_', 'b4']) {
    assert.equal(at(s), undefined, s);
  }
});
