import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryBackOffMs } from '../../src/proxy/http/retry-back-off.js';

test('retry back-off windows grow as Envoy\'s do: 1, 3, 7 times the base, capped at the max', () => {
  const almostOne = 0.999999;
  assert.ok(Math.abs(retryBackOffMs(1, 25, 250, almostOne) - 25) < 0.01);
  assert.ok(Math.abs(retryBackOffMs(2, 25, 250, almostOne) - 75) < 0.01);
  assert.ok(Math.abs(retryBackOffMs(3, 25, 250, almostOne) - 175) < 0.01);
  assert.equal(retryBackOffMs(4, 25, 250, almostOne), 250);
  assert.equal(retryBackOffMs(60, 25, 250, 0.5), 250, 'no overflow for a long run of retries');
  assert.equal(retryBackOffMs(3, 25, 250, 0), 0, 'full jitter: the delay may be zero');
  assert.equal(retryBackOffMs(2, 25, 250, 0.5), 37.5);
});
