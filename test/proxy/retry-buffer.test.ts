/**
 * A request body is kept for retries up to the listener's perConnectionBufferLimitBytes, as Envoy's
 * retry buffer: a smaller body is retried whole, a larger one streams and is not retried.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let flaky: TestUpstream;
let proxy: RunningProxy;
let port: number;
const calls = new Map<string, number>();

before(async () => {
  // Each path fails once, then echoes the body's length.
  flaky = await startUpstream('flaky', (req, res, body) => {
    const n = (calls.get(req.url!) ?? 0) + 1;
    calls.set(req.url!, n);
    res.writeHead(n === 1 ? 503 : 200);
    res.end(n === 1 ? 'down' : `got ${body.length}`);
  });
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'flaky', retryPolicy: { retryOn: '5xx', numRetries: 1, retryBackOff: { baseInterval: '1ms' } } } }]);
  const listener = { ...(httpListener('h', port, routes) as Record<string, unknown>), perConnectionBufferLimitBytes: 2048 };
  proxy = await startProxy(bootstrap([listener], [staticCluster('flaky', [flaky.port])]));
});

after(async () => {
  await proxy?.stop();
  await flaky?.close();
});

test('a body within the buffer limit is retried whole', async () => {
  const r = await fetch(`http://127.0.0.1:${port}/small`, { method: 'POST', body: 'x'.repeat(1000) });
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'got 1000');
  assert.equal(calls.get('/small'), 2);
});

test('a body beyond the buffer limit is not kept, so the failure is not retried', async () => {
  const r = await fetch(`http://127.0.0.1:${port}/big`, { method: 'POST', body: 'x'.repeat(4096) });
  assert.equal(r.status, 503);
  assert.equal(calls.get('/big'), 1);
});
