import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEdgeStripped, isRouterOverride, readRouterOverride } from '../../src/proxy/http/envoy-request-headers.js';

test('router overrides: well-formed values are taken, malformed ones ignored as Envoy ignores them', () => {
  let o = readRouterOverride('x-envoy-upstream-rq-timeout-ms', '250', undefined);
  o = readRouterOverride('x-envoy-max-retries', ' 3 ', o);
  o = readRouterOverride('x-envoy-retry-on', '5xx, bogus,reset', o);
  o = readRouterOverride('x-envoy-retry-grpc-on', 'unavailable', o);
  assert.deepEqual(o, { timeoutMs: 250, maxRetries: 3, retryOn: ['5xx', 'reset', 'unavailable'] });
  for (const bad of ['abc', '-1', '1e3', '12345678901', '']) assert.equal(readRouterOverride('x-envoy-upstream-rq-timeout-ms', bad, undefined), undefined, bad);
  assert.equal(readRouterOverride('x-envoy-retry-on', 'nothing-known', undefined)?.retryOn, undefined);
});

test('which headers steer the router, and which the edge strips', () => {
  assert.equal(isRouterOverride('x-envoy-upstream-rq-per-try-timeout-ms'), true);
  assert.equal(isRouterOverride('x-envoy-attempt-count'), false);
  assert.equal(isEdgeStripped('x-envoy-original-url'), true);
  assert.equal(isEdgeStripped('x-envoy-upstream-service-time'), false);
});
