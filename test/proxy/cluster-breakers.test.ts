/**
 * A cluster's circuit breakers count the whole cluster, as Envoy's do: maxConnections across all its
 * hosts, and maxPendingRequests across all their queues (a limit per host would multiply by the hosts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { echoes } from '../support/tcp-echo.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

let a: TestUpstream;
let b: TestUpstream;
let proxy: RunningProxy;
let port: number;
let tcpPort: number;
let tcpEcho: net.Server;
const accessLog = scratchPath('cluster-breakers.log');
let connections = 0;

before(async () => {
  const hold = (_req: unknown, res: { end(body: string): void }) => setTimeout(() => res.end('ok'), 300);
  a = await startUpstream('a', hold);
  b = await startUpstream('b', hold);
  for (const u of [a, b]) u.server.on('connection', () => connections++);
  tcpEcho = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
  port = await freePort();
  tcpPort = await freePort();
  const cluster = staticCluster('pair', [a.port, b.port], { circuitBreakers: { thresholds: [{ maxConnections: 2, maxPendingRequests: 1 }] } });
  const tcpCluster = staticCluster('echo', [(tcpEcho.address() as net.AddressInfo).port], { circuitBreakers: { thresholds: [{ maxConnections: 1 }] } });
  const tcpListener = {
    name: 'tcp',
    address: { socketAddress: { address: '127.0.0.1', portValue: tcpPort } },
    filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'tcp', cluster: 'echo' } }] }],
  };
  // One process: each worker's pool may open a first connection to a host even at maxConnections, as in
  // Envoy, so the exact connection counts below hold per process (workers-shared-breakers.test.ts covers workers).
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'pair' } }]), { accessLog: [{ typedConfig: { path: accessLog } }] }), tcpListener], [cluster, tcpCluster]), { concurrency: 1 });
});

after(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
  tcpEcho?.close();
});

const statuses = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => fetch(`http://127.0.0.1:${port}/r${i}`).then(async (r) => (await r.text(), r.status))));

test('two hosts, maxConnections 2: a third request waits for a connection instead of opening one, counted as a connection overflow', async () => {
  assert.deepEqual(await statuses(3), [200, 200, 200]);
  assert.equal(connections, 2, 'connections opened to the two upstreams together');
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.match(metrics, /bulwark_upstream_overflows_total\{cluster="pair",resource="connections"\} [1-9]/, 'the connection the breaker held back is counted (upstream_cx_overflow)');
});

test('maxPendingRequests 1 across the cluster: with one request queued, the next is refused with 503 wherever it would go', async () => {
  const replies = await Promise.all(Array.from({ length: 4 }, (_, i) => fetch(`http://127.0.0.1:${port}/p${i}`).then(async (r) => ({ status: r.status, body: await r.text() }))));
  assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 200, 503]);
  assert.equal(connections, 2);
  // Envoy's words for a pending-requests overflow, in the reply and in the access log.
  assert.equal(replies.find((r) => r.status === 503)!.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
  let refused: Record<string, unknown> | undefined;
  for (let i = 0; i < 100 && refused === undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      const lines = readFileSync(accessLog, 'utf8').trim().split('\n');
      refused = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.response_code === 503);
    } catch {
      // not written yet
    }
  }
  assert.equal(refused?.response_flags, 'UO');
  assert.equal(refused?.response_code_details, 'upstream_reset_before_response_started{overflow}');
});

test('TCP proxying counts against maxConnections too: a second connection is closed while the first is open', async () => {
  const first = await echoes(tcpPort);
  assert.equal(first.echoed, true);
  const second = await echoes(tcpPort);
  assert.equal(second.echoed, false, 'refused while the cluster is at its limit');
  first.socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const third = await echoes(tcpPort);
  assert.equal(third.echoed, true, 'accepted again once the first has closed');
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.match(metrics, /bulwark_upstream_overflows_total\{cluster="echo",resource="connections"\} 1\n/);
  third.socket.destroy();
  second.socket.destroy();
});
