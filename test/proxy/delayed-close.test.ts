/**
 * When the proxy ends a connection (an error answer, Connection: close, a drain) it half-closes and
 * gives the peer a moment to close its side. A peer that never does must not keep the descriptor:
 * after the delayed-close time the socket is destroyed. The time only starts once the last response
 * byte has left the proxy, so a slow reader of a large final response still gets all of it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const BIG = 8 * 1024 * 1024;
let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;
/** A second listener with a short listener filters timeout. */
let quietPort: number;

before(async () => {
  upstream = await startUpstream('u', (req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG });
      res.end(Buffer.alloc(BIG, 0x61));
    } else res.end('ok');
  });
  port = await freePort();
  quietPort = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'u' } }]);
  proxy = await startProxy(
    bootstrap([httpListener('h', port, routes), { ...httpListener('quiet', quietPort, routes), listenerFiltersTimeout: '300ms' }], [staticCluster('u', [upstream.port])]),
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

async function activeConnections(): Promise<number> {
  const text = (await proxy.get('/stats/prometheus')).body;
  const line = text.split('\n').find((l) => l.startsWith('bulwark_worker_active_connections'));
  return Number(line?.split(' ').pop());
}

/** Sends `request`, waits until the proxy has half-closed (FIN seen), and keeps the client side open. */
function sendAndHold(request: string): Promise<{ socket: net.Socket; reply: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    let reply = '';
    socket.allowHalfOpen = true;
    socket.on('data', (d: string) => (reply += d));
    socket.on('end', () => resolve({ socket, reply }));
    socket.on('error', reject);
    socket.write(request, 'latin1');
  });
}

async function waitForActive(want: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let n = await activeConnections();
  while (n !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    n = await activeConnections();
  }
  return n;
}

test('a client that never closes after a 400 loses the connection after the delayed-close time', async () => {
  const held = await sendAndHold('NOT HTTP\r\n\r\n');
  assert.match(held.reply, /^HTTP\/1\.1 400 /);
  assert.equal(await waitForActive(0, 4000), 0);
  held.socket.destroy();
});

test('a client that never closes after a Connection: close response is cut off too', async () => {
  const held = await sendAndHold('GET /small HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
  assert.match(held.reply, /^HTTP\/1\.1 200 [^]*ok$/);
  assert.equal(await waitForActive(0, 4000), 0);
  held.socket.destroy();
});

test('a slow reader of a large final response still receives every byte', async () => {
  const socket = net.connect(port, '127.0.0.1');
  let bytes = 0;
  let head = '';
  socket.pause();
  socket.write('GET /big HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
  // Read nothing for longer than the delayed-close time, then drain slowly.
  await new Promise((r) => setTimeout(r, 1500));
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      if (head === '' || !head.includes('\r\n\r\n')) {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end >= 0) bytes += Buffer.byteLength(head, 'latin1') - end - 4;
        return;
      }
      bytes += d.length;
      socket.pause();
      setTimeout(() => socket.resume(), 1);
    });
    socket.on('end', resolve);
    socket.on('error', reject);
    socket.resume();
  });
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.equal(bytes, BIG);
});

test('a connection that never sends a byte is closed after the listener filters timeout', async () => {
  const socket = net.connect(quietPort, '127.0.0.1');
  socket.on('error', () => undefined);
  const started = Date.now();
  const closedAfter = await new Promise<number>((resolve) => {
    socket.on('close', () => resolve(Date.now() - started));
    setTimeout(() => resolve(-1), 5000);
  });
  socket.destroy();
  assert.ok(closedAfter >= 250 && closedAfter < 3000, `closed after ${closedAfter} ms`);
  // A connection that speaks in time is served as usual.
  const reply = await new Promise<string>((resolve) => {
    const s = net.connect(quietPort, '127.0.0.1');
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    s.on('close', () => resolve(got));
    s.write('GET /in-time HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
  });
  assert.match(reply, /^HTTP\/1\.1 200 /);
});
