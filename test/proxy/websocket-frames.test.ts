/**
 * WebSocket through the proxy, spoken frame by frame (RFC 6455) between a raw client and a Node
 * 'upgrade' server: echo of text and binary, large messages both ways, the close handshake from
 * either side, refusals, a dead cluster, header spellings, and the route timeout, which bounds the
 * wait for the 101 but not the tunnel after it (as Envoy disarms it on the upgrade response).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { acceptUpgrade, encodeFrame, upgradeResponse, FrameReader, OP_BINARY, OP_CLOSE, OP_TEXT, wsConnect, type Frame } from '../support/ws-frames.js';

let server: http.Server;
let proxy: RunningProxy;
let port: number;

before(async () => {
  server = http.createServer((_req, res) => { res.writeHead(426); res.end(); });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    if (req.url === '/refuse') { socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno'); return; }
    if (req.url === '/greet') {
      // The 101 and the server's first message in one write, so they arrive in one read.
      socket.write(Buffer.concat([Buffer.from(upgradeResponse(req)), encodeFrame(OP_TEXT, Buffer.from('welcome'), false)]));
      socket.on('error', () => undefined);
      return;
    }
    acceptUpgrade(req, socket);
    if (req.url?.startsWith('/push/')) {
      const n = Number(req.url.slice(6));
      socket.write(encodeFrame(OP_BINARY, Buffer.alloc(n, 7), false));
      socket.end(encodeFrame(OP_CLOSE, Buffer.from([3, 232]), false));
      return;
    }
    const reader = new FrameReader((f) => {
      if (f.opcode === OP_CLOSE) { socket.end(encodeFrame(OP_CLOSE, f.payload, false)); return; }
      socket.write(encodeFrame(f.opcode, f.payload, false));
    });
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = await freePort();
  const down = await freePort();
  proxy = await startProxy(bootstrap(
    [httpListener('h', port, routeConfig([
      { match: { prefix: '/down' }, route: { cluster: 'down', timeout: '0s' } },
      { match: { prefix: '/idle' }, route: { cluster: 'ws', timeout: '0s', idleTimeout: '600ms' } },
      { match: { prefix: '/short' }, route: { cluster: 'ws', timeout: '0.5s' } },
      { match: { prefix: '/bounded' }, route: { cluster: 'ws', timeout: '0.5s', maxStreamDuration: { maxStreamDuration: '1s' } } },
      { match: { prefix: '/' }, route: { cluster: 'ws', timeout: '0s' } },
    ]), { upgradeConfigs: [{ upgradeType: 'websocket' }] })],
    [staticCluster('ws', [(server.address() as net.AddressInfo).port]), staticCluster('down', [down])],
  ));
});

after(async () => { await proxy?.stop(); server.closeAllConnections(); server.close(); });

function frames(socket: net.Socket, rest: Buffer): { all: Frame[]; next: () => Promise<Frame>; ended: Promise<void> } {
  const all: Frame[] = [];
  const waiters: Array<(f: Frame) => void> = [];
  const reader = new FrameReader((f) => { const w = waiters.shift(); if (w) w(f); else all.push(f); });
  socket.on('data', (d: Buffer) => reader.push(d));
  const ended = new Promise<void>((r) => socket.once('end', () => r()));
  if (rest.length) reader.push(rest);
  socket.resume();
  return { all, next: () => new Promise((r) => { const f = all.shift(); if (f) r(f); else waiters.push(r); }), ended };
}

test('text and binary frames echo, a 6 MiB message goes both ways, and the client\'s close is answered', async () => {
  const { socket, status, rest } = await wsConnect(port, '/echo');
  assert.equal(status, 101);
  const f = frames(socket, rest);
  socket.write(encodeFrame(OP_TEXT, Buffer.from('héllo'), true));
  const t = await f.next();
  assert.equal(t.opcode, OP_TEXT);
  assert.equal(t.payload.toString(), 'héllo');
  const big = Buffer.alloc(6 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i & 255;
  socket.write(encodeFrame(OP_BINARY, big, true));
  const b = await f.next();
  assert.equal(b.payload.length, big.length);
  assert.ok(b.payload.equals(big));
  socket.write(encodeFrame(OP_CLOSE, Buffer.from([3, 232]), true));
  const c = await f.next();
  assert.equal(c.opcode, OP_CLOSE);
  await f.ended;
  socket.destroy();
});

test('the server sends a large message and closes first: a client reading slowly gets all of it', async () => {
  const n = 8 * 1024 * 1024;
  const { socket, status, rest } = await wsConnect(port, `/push/${n}`);
  assert.equal(status, 101);
  let got = rest.length;
  socket.on('data', (d: Buffer) => { got += d.length; socket.pause(); setTimeout(() => socket.resume(), 5); });
  socket.resume();
  await new Promise((r) => socket.once('close', r));
  // The message's frame (10-byte head) and the close frame (2-byte head, 2-byte code).
  assert.equal(got, n + 10 + 4);
});

test('a message the server sends in the same read as its 101 reaches the client', async () => {
  const { socket, status, rest } = await wsConnect(port, '/greet');
  assert.equal(status, 101);
  const f = frames(socket, rest);
  const m = await Promise.race([f.next(), new Promise<never>((_r, j) => setTimeout(() => j(new Error('the greeting was lost')), 2000))]);
  assert.equal(m.payload.toString(), 'welcome');
  socket.destroy();
});

test('an upgrade to a cluster nothing listens on is answered 503 at once', async () => {
  const { socket, status, head } = await Promise.race([wsConnect(port, '/down'), new Promise<never>((_r, j) => setTimeout(() => j(new Error('hang')), 4000))]);
  assert.equal(status, 503, head);
  socket.destroy();
});

test('Upgrade and Connection in any case, and Connection: keep-alive, Upgrade, all upgrade', async () => {
  for (const [conn, up] of [['keep-alive, Upgrade', 'websocket'], ['upgrade', 'WebSocket'], ['Keep-Alive,UPGRADE', 'WEBSOCKET']]) {
    const { socket, status, rest, head } = await wsConnect(port, '/echo', '', conn, up);
    assert.equal(status, 101, head);
    const f = frames(socket, rest);
    socket.write(encodeFrame(OP_TEXT, Buffer.from('x'), true));
    assert.equal((await f.next()).payload.toString(), 'x');
    socket.destroy();
  }
});

test('route timeout does not cut an upgraded tunnel', async () => {
  const { socket, status, rest } = await wsConnect(port, '/short');
  assert.equal(status, 101);
  const f = frames(socket, rest);
  let closed = false;
  socket.on('close', () => (closed = true));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(closed, false);
  socket.write(encodeFrame(OP_TEXT, Buffer.from('still'), true));
  assert.equal((await f.next()).payload.toString(), 'still');
  socket.destroy();
});

test('maxStreamDuration still ends an upgraded tunnel', async () => {
  const { socket, status } = await wsConnect(port, '/bounded');
  assert.equal(status, 101);
  socket.resume();
  const started = Date.now();
  await new Promise((r) => socket.once('close', r));
  const lived = Date.now() - started;
  assert.ok(lived > 700 && lived < 3000, `closed after ${lived} ms`);
});

test('an upgrade the upstream refuses reaches the client as that response', async () => {
  const { socket, status, head } = await wsConnect(port, '/refuse');
  assert.equal(status, 403, head);
  socket.destroy();
});

test('the stream idle timeout still bounds an upgraded stream: a silent WebSocket is closed, a chatty one is not', async () => {
  const silent = await wsConnect(port, '/idle/silent');
  assert.equal(silent.status, 101);
  const opened = Date.now();
  silent.socket.resume();
  await Promise.race([new Promise((r) => silent.socket.once('close', r)), new Promise((r) => setTimeout(r, 3000))]);
  silent.socket.destroy();
  const lived = Date.now() - opened;
  assert.ok(lived >= 550 && lived < 3000, `closed after ${lived} ms (idle timeout 600 ms)`);

  const chatty = await wsConnect(port, '/idle/chatty');
  assert.equal(chatty.status, 101);
  const f = frames(chatty.socket, chatty.rest);
  let closed = false;
  chatty.socket.once('close', () => (closed = true));
  for (let i = 0; i < 8; i++) {
    chatty.socket.write(encodeFrame(OP_TEXT, Buffer.from(`ping ${i}`), true));
    assert.equal((await f.next()).payload.toString(), `ping ${i}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(closed, false, 'traffic every 200 ms kept it open past 1.6 s');
  chatty.socket.destroy();
});
