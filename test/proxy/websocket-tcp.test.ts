import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { address, bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

let wsServer: http.Server;
let wsPort: number;
let tcpEcho: net.Server;
let tcpEchoPort: number;
/** Answers only once the client has finished sending (half-close), as request/response TCP protocols do. */
let replyAtEnd: net.Server;
let halfClosePort: number;
let proxy: RunningProxy;
let httpPort: number;
let tcpPort: number;

/** A minimal WebSocket server: completes the RFC 6455 handshake, then echoes raw bytes back. */
function startWsServer(): Promise<void> {
  wsServer = http.createServer((_req, res) => {
    res.writeHead(426);
    res.end();
  });
  wsServer.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (req.url === '/refuse') {
      // Refused without closing: Node has handed this socket over, and it will never answer on it again.
      socket.write('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope');
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    if (head.length) socket.write(head);
    socket.pipe(socket);
  });
  return new Promise((r) => wsServer.listen(0, '127.0.0.1', () => {
    wsPort = (wsServer.address() as net.AddressInfo).port;
    r();
  }));
}

before(async () => {
  await startWsServer();
  tcpEcho = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
  tcpEchoPort = (tcpEcho.address() as net.AddressInfo).port;
  replyAtEnd = net.createServer({ allowHalfOpen: true }, (s) => {
    let bytes = 0;
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('end', () => s.end(`received ${bytes} bytes`));
  });
  await new Promise<void>((r) => replyAtEnd.listen(0, '127.0.0.1', r));
  httpPort = await freePort();
  tcpPort = await freePort();
  halfClosePort = await freePort();
  const tcpListener = {
    name: 'tcp',
    address: address(tcpPort),
    filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'tcp', cluster: 'echo' } }] }],
  };
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('http', httpPort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'ws', timeout: '0s' } }]), { upgradeConfigs: [{ upgradeType: 'websocket' }] }),
        tcpListener,
        {
          name: 'tcp-half-close',
          address: address(halfClosePort),
          filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'tcp2', cluster: 'reply-at-end' } }] }],
        },
      ],
      [staticCluster('ws', [wsPort]), staticCluster('echo', [tcpEchoPort]), staticCluster('reply-at-end', [(replyAtEnd.address() as net.AddressInfo).port])],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  wsServer?.close();
  tcpEcho?.close();
  replyAtEnd?.close();
});

/** Writes `payload` and resolves with what comes back once `done` says the answer is complete. */
function roundTrip(socket: net.Socket, payload: string, done: (got: string) => boolean = (got) => got.length >= payload.length): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString();
      if (done(got)) {
        socket.off('data', onData);
        resolve(got);
      }
    };
    socket.on('data', onData);
    socket.write(payload);
  });
}

test('a WebSocket upgrade is tunnelled both ways', async () => {
  const s = net.connect(httpPort, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const key = Buffer.from('0123456789abcdef').toString('base64');
  const head = await roundTrip(s, `GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`, (got) => got.includes('\r\n\r\n'));
  await new Promise((r) => setTimeout(r, 100));
  assert.match(head, /^HTTP\/1\.1 101/);
  assert.match(head, /sec-websocket-accept: /i);
  const echoed = await roundTrip(s, 'frames-as-bytes');
  assert.equal(echoed, 'frames-as-bytes');
  s.destroy();
});

test('an upgrade the upstream refuses is answered as is, and its upstream connection is not reused', async () => {
  const s = net.connect(httpPort, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const refused = await roundTrip(s, 'GET /refuse HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', (got) => got.endsWith('nope'));
  assert.match(refused, /^HTTP\/1\.1 401 /);
  s.destroy();
  // The next requests must not land on the connection Node no longer reads.
  for (let i = 0; i < 3; i++) {
    const status = await new Promise<number>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: httpPort, path: `/after-refusal/${i}`, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
    });
    assert.equal(status, 426);
  }
});

test('a TCP listener proxies bytes both ways and reports its connections', async () => {
  const s = net.connect(tcpPort, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  assert.equal(await roundTrip(s, 'hello tcp'), 'hello tcp');
  const big = 'z'.repeat(1_000_000);
  assert.equal((await roundTrip(s, big)).length, big.length);
  s.end();
  await new Promise((r) => s.once('close', r));
  await new Promise((r) => setTimeout(r, 100));
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.match(metrics, /istio_tcp_connections_opened_total\{[^}]*\} [1-9]/);
  assert.match(metrics, /istio_tcp_received_bytes_total\{[^}]*\} 10000(09|\d{2,})/);
});

test('a TCP client that half-closes still gets the answer sent after its FIN', async () => {
  const s = net.connect({ port: halfClosePort, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((r) => s.once('connect', r));
  let got = '';
  s.on('data', (d: Buffer) => (got += d.toString()));
  const ended = new Promise((r) => s.once('end', r));
  s.end('x'.repeat(100_000));
  await ended;
  assert.equal(got, 'received 100000 bytes');
  s.destroy();
});
