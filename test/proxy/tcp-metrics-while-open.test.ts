/**
 * A TCP proxy connection's bytes reach the Istio metrics while it is open, every 5 s as Istio's stats
 * filter reports them (tcp_reporting_duration), and once more at close for the rest, never twice.
 * Before, they were counted only at close: a long-lived connection (a database pool's) showed no
 * traffic at all for as long as it lived.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { address, bootstrap, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

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
    filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'db', cluster: 'echo' } }] }],
  };
  proxy = await startProxy(bootstrap([listener], [staticCluster('echo', [(echo.address() as net.AddressInfo).port])]));
});

after(async () => {
  await proxy?.stop();
  echo?.close();
});

/** The sum of a TCP byte counter over its series (one per response flags) for the echo cluster. */
async function tcpBytes(metric: 'istio_tcp_received_bytes_total' | 'istio_tcp_sent_bytes_total'): Promise<number> {
  const body = (await proxy.get('/stats/prometheus')).body;
  let sum = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith(`${metric}{`) && line.includes('destination_service="echo"')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('bytes of an open connection are counted within one reporting interval, and not again at close', async () => {
  const client = net.connect(port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const payload = Buffer.alloc(300_000, 0x61);
  let echoed = 0;
  client.on('data', (d: Buffer) => (echoed += d.length));
  client.write(payload);
  while (echoed < payload.length) await new Promise((r) => setTimeout(r, 20));

  const sentAt = Date.now();
  let received = 0;
  while (received < payload.length && Date.now() - sentAt < 8_000) {
    await new Promise((r) => setTimeout(r, 250));
    received = await tcpBytes('istio_tcp_received_bytes_total');
  }
  assert.equal(received, payload.length, 'received bytes counted while the connection is open');
  assert.equal(await tcpBytes('istio_tcp_sent_bytes_total'), payload.length, 'sent bytes counted while the connection is open');
  assert.equal(client.destroyed, false);

  client.end();
  await new Promise((r) => client.once('close', r));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await tcpBytes('istio_tcp_received_bytes_total'), payload.length);
  assert.equal(await tcpBytes('istio_tcp_sent_bytes_total'), payload.length);
});
