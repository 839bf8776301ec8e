import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const upstreams: TestUpstream[] = [];
let proxy: RunningProxy;
let port: number;
let sickHealth = 200;

async function named(name: string, handler?: Parameters<typeof startUpstream>[1]): Promise<TestUpstream> {
  const u = await startUpstream(name, handler);
  upstreams.push(u);
  return u;
}

before(async () => {
  const [h1, h2, h3] = [await named('h1'), await named('h2'), await named('h3')];
  const steady = await named('steady');
  const sick = await named('sick', (req, res) => {
    res.writeHead(req.url === '/healthz' ? sickHealth : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: 'sick' }));
  });
  const slow = await named('slow', (_req, res) => {
    setTimeout(() => res.writeHead(200).end('slow'), 800);
  });
  port = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/hash' }, route: { cluster: 'ring', hashPolicy: [{ header: { headerName: 'x-user' } }] } },
    { match: { prefix: '/checked' }, route: { cluster: 'checked' } },
    { match: { prefix: '/limited' }, route: { cluster: 'limited', timeout: '5s' } },
  ]);
  proxy = await startProxy(
    bootstrap(
      [httpListener('ingress', port, routes)],
      [
        staticCluster('ring', [h1.port, h2.port, h3.port], { lbPolicy: 'RING_HASH' }),
        staticCluster('checked', [steady.port, sick.port], {
          commonLbConfig: { healthyPanicThreshold: 0 },
          healthChecks: [{ timeout: '1s', interval: '0.1s', unhealthyThreshold: 2, healthyThreshold: 2, httpHealthCheck: { path: '/healthz' } }],
        }),
        staticCluster('limited', [slow.port], { circuitBreakers: { thresholds: [{ maxRequests: 1 }] } }),
      ],
    ),
    // One process: circuit-breaker thresholds are per process.
    { concurrency: 1 },
  );
});

after(async () => {
  await proxy?.stop();
  await Promise.all(upstreams.map((u) => u.close()));
});

const upstreamOf = async (path: string, headers: string[] = []): Promise<string> =>
  JSON.parse((await curl([...headers.flatMap((h) => ['-H', h]), `http://127.0.0.1:${port}${path}`])).body).upstream as string;

test('ring hash sends a user to the same host every time and spreads users over hosts', async () => {
  const seen = new Set<string>();
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']) {
    const first = await upstreamOf('/hash', [`x-user: ${user}`]);
    for (let i = 0; i < 3; i++) assert.equal(await upstreamOf('/hash', [`x-user: ${user}`]), first, `user ${user} moved`);
    seen.add(first);
  }
  assert.ok(seen.size >= 2, `8 users all landed on ${[...seen].join(',')}`);
});

test('active health checks take a host that fails /healthz out of rotation and bring it back', async () => {
  sickHealth = 503;
  await proxy.waitForLog(/upstream host failed health checks/, 5000);
  for (let i = 0; i < 10; i++) assert.equal(await upstreamOf('/checked'), 'steady');
  sickHealth = 200;
  await proxy.waitForLog(/upstream host passed health checks/, 5000);
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) seen.add(await upstreamOf('/checked'));
  assert.deepEqual([...seen].sort(), ['sick', 'steady']);
});

test('a circuit breaker over maxRequests answers 503 at once with UO and x-envoy-overloaded, and counts the overflow', async () => {
  const url = `http://127.0.0.1:${port}/limited`;
  const first = curl([url]);
  await sleep(150);
  const started = Date.now();
  const second = await curl([url]);
  assert.equal(second.status, 503);
  assert.match(second.body, /overflow/);
  assert.equal(second.headers['x-envoy-overloaded'], 'true', 'Envoy marks a request a circuit breaker dropped');
  assert.ok(Date.now() - started < 600, 'the overflow is refused without waiting');
  assert.equal((await first).status, 200);
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.match(metrics, /bulwark_upstream_overflows_total\{[^}]*cluster="limited"[^}]*resource="requests"[^}]*\} 1/);
});
