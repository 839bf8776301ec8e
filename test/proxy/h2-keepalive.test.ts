/**
 * HTTP/2 connection keepalive. A connection that broke the protocol must not stay in CLOSE-WAIT
 * until the idle timeout (the proxy closes it after its GOAWAY, or, where node:http2 gives no hook
 * for that, the sweep does), and idle sessions are pinged: one that does not answer is closed.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('u');
  port = await freePort();
  const hcm = { http2ProtocolOptions: { connectionKeepalive: { interval: '200ms', timeout: '300ms' } } };
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'u' } }]), hcm)], [staticCluster('u', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

async function activeConnections(): Promise<number> {
  const m = /^bulwark_worker_active_connections\{[^}]*\} (\d+)/m.exec((await proxy.get('/stats/prometheus')).body);
  return Number(m?.[1]);
}

test('a client that broke the protocol and went away does not hold a connection open', async () => {
  const badFrame = Buffer.concat([
    Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), // SETTINGS
    Buffer.from([0, 0, 1, 0, 0, 0, 0, 0, 0, 0x78]), // DATA on stream 0: a connection error
  ]);
  const closed = await Promise.all(
    Array.from({ length: 20 }, () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.write(badFrame);
          setTimeout(() => s.end(), 50);
        });
        s.on('data', () => undefined);
        s.on('error', () => undefined);
        s.on('close', () => resolve(true));
        setTimeout(() => resolve(false), 3000);
      }),
    ),
  );
  assert.equal(closed.filter(Boolean).length, 20, 'every connection was closed by the proxy');
  assert.equal(await activeConnections(), 0);
});

test('an idle client that answers PINGs keeps its connection, and it still serves', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  let closed = false;
  client.on('close', () => (closed = true));
  client.on('error', () => undefined);
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(closed, false);
  const status = await new Promise<number>((resolve) => {
    const s = client.request({ ':path': '/still-here' });
    s.on('response', (h) => resolve(Number(h[':status'])));
    s.on('error', () => resolve(0));
    s.resume();
  });
  assert.equal(status, 200);
  client.close();
});
