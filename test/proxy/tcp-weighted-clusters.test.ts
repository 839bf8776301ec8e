/** tcp_proxy weighted_clusters, as Envoy has them: each connection goes to one cluster, by weight. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { address, bootstrap, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { pickTcpCluster } from '../../src/proxy/listeners/tcp-proxy.js';

let proxy: RunningProxy;
let port: number;
const servers: net.Server[] = [];

async function namedServer(name: string): Promise<number> {
  const s = net.createServer((c) => c.end(name));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

before(async () => {
  const a = await namedServer('a');
  const b = await namedServer('b');
  port = await freePort();
  const typedConfig = { statPrefix: 'tcp', weightedClusters: { clusters: [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }] } };
  proxy = await startProxy(
    bootstrap([{ name: 'tcp', address: address(port), filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig }] }] }], [staticCluster('a', [a]), staticCluster('b', [b])]),
  );
});

after(async () => {
  await proxy?.stop();
  for (const s of servers) s.close();
});

function answer(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

test('connections are split between the weighted clusters', async () => {
  const got = await Promise.all(Array.from({ length: 80 }, answer));
  const a = got.filter((g) => g === 'a').length;
  const b = got.filter((g) => g === 'b').length;
  assert.equal(a + b, 80);
  // 3:1 expects 60/20; the bounds leave room for chance.
  assert.ok(a > 40 && b > 5, `a=${a} b=${b}`);
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.match(metrics, /istio_tcp_connections_opened_total\{[^}]*destination_service="b"[^}]*\} [1-9]/);
});

test('the pick follows the weights, and a zero weight is never picked', () => {
  const config = { statPrefix: 't', cluster: '', idleTimeout: 0, accessLog: [], weightedClusters: [{ name: 'x', weight: 0 }, { name: 'a', weight: 3 }, { name: 'b', weight: 1 }] };
  assert.equal(pickTcpCluster(config, 0), 'a');
  assert.equal(pickTcpCluster(config, 0.74), 'a');
  assert.equal(pickTcpCluster(config, 0.76), 'b');
  assert.equal(pickTcpCluster(config, 0.999), 'b');
  assert.equal(pickTcpCluster({ ...config, weightedClusters: undefined, cluster: 'one' }, 0.5), 'one');
});
