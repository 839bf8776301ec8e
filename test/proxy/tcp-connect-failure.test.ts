/**
 * A TCP proxy connection whose upstream refuses: the client is closed at once, and the failure is
 * reported as Envoy does (UF in the access log and the Istio metrics, a connect failure for the cluster).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { address, bootstrap, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

let proxy: RunningProxy;
let port: number;
const log = join(mkdtempSync(join(tmpdir(), 'bulwark-tcp-uf-')), 'access.log');

before(async () => {
  port = await freePort();
  // Nothing listens there.
  const dead = await freePort();
  const filters = [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'tcp', cluster: 'dead', accessLog: [{ typedConfig: { path: log } }] } }];
  proxy = await startProxy(bootstrap([{ name: 'tcp', address: address(port), filterChains: [{ filters }] }], [staticCluster('dead', [dead])]));
});

after(async () => {
  await proxy?.stop();
});

test('an upstream that refuses the connection: the client is closed promptly and UF is reported', async () => {
  const started = Date.now();
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise((r) => s.once('close', r));
  assert.ok(Date.now() - started < 2000, 'closed promptly');
  let metrics = '';
  for (let i = 0; i < 40 && !/istio_tcp_connections_closed_total\{[^}]*response_flags="UF"[^}]*\} 1/.test(metrics); i++) {
    await new Promise((r) => setTimeout(r, 50));
    metrics = (await proxy.get('/stats/prometheus')).body;
  }
  assert.match(metrics, /istio_tcp_connections_closed_total\{[^}]*response_flags="UF"[^}]*\} 1/);
  assert.match(metrics, /bulwark_upstream_connect_failures_total\{cluster="dead"\} 1/);
  // The access log is written in batches.
  let line = '';
  for (let i = 0; i < 60 && !line; i++) {
    await new Promise((r) => setTimeout(r, 50));
    line = existsSync(log) ? readFileSync(log, 'utf8') : '';
  }
  assert.match(line, /\bUF\b/);
});
