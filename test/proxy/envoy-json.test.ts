/** The model printed as Envoy prints protos in proto3 JSON: field names, durations, timestamps, defaults. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { durationText, protoFieldName, timestampText, toEnvoyJson, Verbatim } from '../../src/proxy/admin/envoy-json.js';

test('a Duration prints as seconds with 0, 3, 6 or 9 fractional digits', () => {
  assert.equal(durationText(3_600_000), '3600s');
  assert.equal(durationText(0), '0s');
  assert.equal(durationText(25), '0.025s');
  assert.equal(durationText(1500), '1.500s');
  assert.equal(durationText(0.5), '0.000500s');
});

test('a Timestamp prints in RFC 3339, with fractional seconds only when there are any', () => {
  assert.equal(timestampText(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02T03:04:05Z');
  assert.equal(timestampText(Date.UTC(2026, 0, 2, 3, 4, 5, 250)), '2026-01-02T03:04:05.250Z');
});

test('field names are the proto\'s: a digit run joins its word unless the proto sets it apart', () => {
  assert.equal(protoFieldName('portValue'), 'port_value');
  assert.equal(protoFieldName('http2ProtocolOptions'), 'http2_protocol_options');
  assert.equal(protoFieldName('consecutive5xx'), 'consecutive_5xx');
  assert.equal(protoFieldName('enforcingConsecutive5xx'), 'enforcing_consecutive_5xx');
  assert.equal(protoFieldName('acceptHttp10'), 'accept_http_10');
});

test('defaults are left out, a set empty message stays, and Verbatim values keep their keys', () => {
  assert.deepEqual(toEnvoyJson({ invertMatch: false, numRetries: 0, prefix: '', headers: [], locality: {}, lbPolicy: 'ROUND_ROBIN', connectTimeout: 0 }), { locality: {}, connect_timeout: '0s' });
  assert.deepEqual(toEnvoyJson({ typedConfig: new Verbatim({ myTag: { innerKey: 0 } }) }), { typed_config: { myTag: { innerKey: 0 } } });
});
