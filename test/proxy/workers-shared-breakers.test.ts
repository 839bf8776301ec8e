/**
 * With workers, a cluster's circuit breakers count the whole proxy, as Envoy's worker threads share one
 * count per cluster: N workers do not make N times a limit. A round-robin listener spreads the
 * connections over both workers, so a per-worker count would let twice the limit through.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { echoes } from '../support/tcp-echo.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let tcpEcho: net.Server;
let proxy: RunningProxy;
let port: number;
let tcpPort: number;
/** Requests the upstream holds until the test lets them go. */
const held: http.ServerResponse[] = [];

function releaseHeld(): void {
  for (const res of held.splice(0)) res.end('ok');
}

function roundRobin(listener: object): object {
  return { ...listener, connectionBalanceConfig: { balancer: 'round-robin' } };
}

before(async () => {
  upstream = await startUpstream('slow', (req, res) => {
    if (req.url?.startsWith('/hold')) held.push(res);
    else res.end('ok');
  });
  tcpEcho = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
  port = await freePort();
  tcpPort = await freePort();
  const cluster = staticCluster('slow', [upstream.port], { circuitBreakers: { thresholds: [{ maxRequests: 2 }] } });
  const tcpCluster = staticCluster('echo', [(tcpEcho.address() as net.AddressInfo).port], { circuitBreakers: { thresholds: [{ maxConnections: 1 }] } });
  const tcpListener = {
    name: 'tcp',
    address: { socketAddress: { address: '127.0.0.1', portValue: tcpPort } },
    filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'tcp', cluster: 'echo' } }] }],
  };
  const listener = httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'slow', timeout: '20s' } }]));
  proxy = await startProxy(bootstrap([roundRobin(listener), roundRobin(tcpListener)], [cluster, tcpCluster]), { concurrency: 2 });
});

after(async () => {
  releaseHeld();
  await proxy?.stop();
  await upstream?.close();
  tcpEcho?.close();
});

/** One request on a connection of its own (so round-robin gives each its turn of the workers). */
function request(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
  });
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(condition(), what);
}

test('maxRequests 2 holds for the whole proxy: with two requests in flight on two workers, the next ones get 503', async () => {
  const first = [request('/hold/1'), request('/hold/2')];
  await waitFor(() => held.length === 2, 'the upstream holds two requests');
  // Both workers take their turn at these; a per-worker count would let both through.
  assert.deepEqual(await Promise.all([request('/now/1'), request('/now/2')]), [503, 503]);
  releaseHeld();
  assert.deepEqual(await Promise.all(first), [200, 200]);
  assert.deepEqual(await Promise.all([request('/now/3'), request('/now/4')]), [200, 200], 'finished requests are counted out');
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.match(metrics, /bulwark_upstream_overflows_total\{cluster="slow",resource="requests"\} 2\b/);
});

test('TCP maxConnections 1 holds for the whole proxy: while one worker has the connection, the other refuses one', async () => {
  const first = await echoes(tcpPort);
  assert.equal(first.echoed, true);
  const second = await echoes(tcpPort);
  assert.equal(second.echoed, false, 'the next connection went to the other worker and was refused');
  first.socket.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const third = await echoes(tcpPort);
  const fourth = await echoes(tcpPort);
  assert.deepEqual([third.echoed, fourth.echoed], [true, false]);
  third.socket.destroy();
  fourth.socket.destroy();
});

test("a killed worker's requests stop counting: its replacement and the other worker serve again", async () => {
  const holding = [request('/hold/a').catch(() => 0), request('/hold/b').catch(() => 0)];
  await waitFor(() => held.length === 2, 'the upstream holds two requests');
  assert.equal(await request('/now/5'), 503);
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number }> };
  const victims = dump.workers.map((w) => w.pid);
  for (const pid of victims) process.kill(pid, 'SIGKILL');
  await Promise.all(holding);
  let restarted = false;
  for (let i = 0; i < 100 && !restarted; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number; ready: boolean }> };
    restarted = now.workers.length === 2 && now.workers.every((w) => w.ready && !victims.includes(w.pid));
  }
  assert.ok(restarted, 'both workers were restarted');
  // The upstream still holds the dead workers' two requests (its side of those connections may not have
  // noticed yet); the breaker no longer counts them.
  assert.deepEqual(await Promise.all([request('/now/6'), request('/now/7')]), [200, 200]);
  releaseHeld();
});
