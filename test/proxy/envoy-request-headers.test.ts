/**
 * Envoy's x-envoy-* request headers: an edge strips the ones that steer a proxy from external requests,
 * and a route configuration's internalOnlyHeaders, before routing; a request that may carry them has
 * the router's overrides applied (timeout, retries), and they are not sent on.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let echo: TestUpstream;
let slow: TestUpstream;
let flaky: TestUpstream;
let proxy: RunningProxy;
let port: number;
const calls = new Map<string, number>();

before(async () => {
  echo = await startUpstream('echo');
  slow = await startUpstream('slow', (_req, res) => setTimeout(() => res.end('slow but fine'), 400));
  // Each path fails twice, then succeeds.
  flaky = await startUpstream('flaky', (req, res) => {
    const n = (calls.get(req.url!) ?? 0) + 1;
    calls.set(req.url!, n);
    res.writeHead(n <= 2 ? 503 : 200);
    res.end(n <= 2 ? 'down' : 'up');
  });
  port = await freePort();
  const routes = {
    name: 'r',
    internalOnlyHeaders: ['x-debug-tenant'],
    virtualHosts: [
      {
        name: 'all',
        domains: ['*'],
        routes: [
          { match: { prefix: '/debug', headers: [{ name: 'x-debug-tenant', presentMatch: true }] }, directResponse: { status: 200, body: { inlineString: 'debug route' } } },
          { match: { prefix: '/slow' }, route: { cluster: 'slow' } },
          { match: { prefix: '/flaky' }, route: { cluster: 'flaky' } },
          { match: { prefix: '/' }, route: { cluster: 'echo' } },
        ],
      },
    ],
  };
  proxy = await startProxy(bootstrap([httpListener('edge', port, routes, { useRemoteAddress: true })], [staticCluster('echo', [echo.port]), staticCluster('slow', [slow.port]), staticCluster('flaky', [flaky.port])]));
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
  await slow?.close();
  await flaky?.close();
});

const get = (path: string, headers: string[]) => curl([...headers.flatMap((h) => ['-H', h]), `http://127.0.0.1:${port}${path}`]);
/** A request the edge sees as external: it came through another proxy from a public address. */
const EXTERNAL = 'x-forwarded-for: 203.0.113.5';

test('an external request loses the headers that steer a proxy: they neither act here nor reach the upstream', async () => {
  const r = await get('/slow', [EXTERNAL, 'x-envoy-upstream-rq-timeout-ms: 50', 'x-envoy-retry-on: 5xx', 'x-envoy-original-url: http://evil/', 'x-envoy-force-trace: 1']);
  assert.equal(r.status, 200, 'the 50 ms timeout a client asked for did not apply');
  const seen = slow.requests.at(-1)!.headers;
  for (const h of ['x-envoy-upstream-rq-timeout-ms', 'x-envoy-retry-on', 'x-envoy-original-url', 'x-envoy-force-trace']) assert.equal(seen[h], undefined, h);
});

test("a route configuration's internalOnlyHeaders are removed from external requests before routing", async () => {
  const outside = await get('/debug', [EXTERNAL, 'x-debug-tenant: blue']);
  assert.equal(JSON.parse(outside.body).upstream, 'echo', 'an external client cannot reach the internal-only route');
  assert.equal(JSON.parse(outside.body).headers['x-debug-tenant'], undefined);
  const inside = await get('/debug', ['x-debug-tenant: blue']);
  assert.equal(inside.body, 'debug route');
});

test('an internal request sets its own route timeout with x-envoy-upstream-rq-timeout-ms, which is not sent on', async () => {
  const before = slow.requests.length;
  const r = await get('/slow-internal', ['x-envoy-upstream-rq-timeout-ms: 100']);
  assert.equal(r.status, 504);
  await new Promise((res) => setTimeout(res, 400));
  assert.equal(slow.requests.length, before + 1);
  assert.equal(slow.requests.at(-1)!.headers['x-envoy-upstream-rq-timeout-ms'], undefined);
});

test('an internal request asks for retries with x-envoy-retry-on and x-envoy-max-retries', async () => {
  const without = await get('/flaky/a', []);
  assert.equal(without.status, 503, 'the route itself does not retry');
  const r = await get('/flaky/b', ['x-envoy-retry-on: 5xx', 'x-envoy-max-retries: 2']);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'up');
  assert.equal(calls.get('/flaky/b'), 3);
  assert.equal(flaky.requests.at(-1)!.headers['x-envoy-retry-on'], undefined);
});
