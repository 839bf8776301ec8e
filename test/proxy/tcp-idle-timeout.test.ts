/**
 * A TCP proxy connection silent both ways for the tcp_proxy's idleTimeout is closed; one with traffic
 * either way is not. As Envoy reports it, the access log says why in connection_termination_details
 * (tcp_session_idle_timeout, Envoy's close reason) and the response flags stay "-": Envoy has no flag
 * for it. Before, the proxy made up a flag, "IDLE", in the log and in the Istio metrics' response_flags label.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { address, bootstrap, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const accessLog = join(mkdtempSync(join(tmpdir(), 'bulwark-tcp-idle-')), 'access.log');
let echo: net.Server;
let proxy: RunningProxy;
let port: number;

before(async () => {
  echo = net.createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  port = await freePort();
  const listener = {
    name: 'db',
    address: address(port),
    filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'db', cluster: 'echo', idleTimeout: '0.6s', accessLog: [{ typedConfig: { path: accessLog } }] } }] }],
  };
  proxy = await startProxy(bootstrap([listener], [staticCluster('echo', [(echo.address() as net.AddressInfo).port])]));
});

after(async () => {
  await proxy?.stop();
  echo?.close();
});

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

test('a silent connection is closed after the idle timeout, a chatty one is not', async () => {
  const chatty = await connect();
  chatty.resume();
  let chattyClosed = false;
  chatty.once('close', () => (chattyClosed = true));

  const silent = await connect();
  silent.resume();
  silent.write('hello');
  const opened = Date.now();
  const closedAt = new Promise<number>((r) => silent.once('close', () => r(Date.now() - opened)));
  for (let i = 0; i < 8; i++) {
    chatty.write(`ping ${i}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const lived = await Promise.race([closedAt, new Promise<number>((r) => setTimeout(() => r(-1), 3000))]);
  assert.ok(lived >= 500 && lived < 2500, `the silent connection closed after ${lived} ms (idle timeout 600 ms)`);
  assert.equal(chattyClosed, false, 'traffic every 200 ms kept the other open past 1.6 s');
  chatty.destroy();
});

test('the idle close is logged with Envoy\'s close reason and no response flag', async () => {
  let line: Record<string, unknown> | undefined;
  for (let i = 0; i < 40 && line === undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
    line = readFileSync(accessLog, { encoding: 'utf8', flag: 'a+' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.connection_termination_details !== null);
  }
  assert.equal(line?.connection_termination_details, 'tcp_session_idle_timeout');
  assert.equal(line?.response_flags, '-');
  assert.equal(line?.bytes_received, 5);
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.doesNotMatch(metrics, /response_flags="IDLE"/);
  assert.match(metrics, /^istio_tcp_connections_closed_total\{[^}]*response_flags="-"[^}]*\} [12]$/m);
});
