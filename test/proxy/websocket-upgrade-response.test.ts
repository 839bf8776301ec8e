/**
 * The 101 that opens a WebSocket is a response like any other on its way to the client, as Envoy
 * makes it: `server` names this proxy (serverHeaderTransformation), x-envoy-upstream-service-time is
 * added, the route's response header edits apply, and hop-by-hop fields other than the switch itself
 * (Connection: Upgrade, Upgrade) are dropped. Before, the upstream's head went out untouched: its
 * server software was announced and a route's responseHeadersToRemove let through what it meant to hide.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket } from 'undici';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { acceptKey, encodeFrame, FrameReader, OP_CLOSE } from '../support/ws-frames.js';

let server: http.Server;
let proxy: RunningProxy;
let port: number;

before(async () => {
  server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => undefined);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nServer: upstream-ws/1.0\r\n' +
        `X-Powered-By: internal-framework\r\nKeep-Alive: timeout=5\r\nSec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
    );
    const reader = new FrameReader((f) => {
      if (f.opcode === OP_CLOSE) socket.end(encodeFrame(OP_CLOSE, f.payload, false));
      else socket.write(encodeFrame(f.opcode, f.payload, false));
    });
    socket.on('data', (d: Buffer) => reader.push(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([
    {
      match: { prefix: '/' },
      route: { cluster: 'ws' },
      responseHeadersToAdd: [{ header: { key: 'x-frame-options', value: 'DENY' } }],
      responseHeadersToRemove: ['x-powered-by'],
    },
  ]);
  proxy = await startProxy(bootstrap([httpListener('web', port, routes, { upgradeConfigs: [{ upgradeType: 'websocket' }] })], [staticCluster('ws', [(server.address() as net.AddressInfo).port])]));
});

after(async () => {
  await proxy?.stop();
  server?.closeAllConnections();
  server?.close();
});

/** The 101's headers as node:http's client sees them, and the echo of one frame sent through. */
function upgradeHeadersSeenByClient(): Promise<{ headers: http.IncomingHttpHeaders; echo: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/chat',
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('upgrade', (res: http.IncomingMessage, socket: net.Socket) => {
      const reader = new FrameReader((f) => {
        socket.destroy();
        resolve({ headers: res.headers, echo: f.payload.toString() });
      });
      socket.on('data', (d: Buffer) => reader.push(d));
      socket.write(encodeFrame(1, Buffer.from('through'), true));
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

test('the 101 says server: bulwark, carries the service time and the route\'s edits, and keeps only the switch among hop-by-hop fields', async () => {
  const { headers, echo } = await upgradeHeadersSeenByClient();
  assert.equal(echo, 'through');
  assert.equal(headers.server, 'bulwark');
  assert.match(String(headers['x-envoy-upstream-service-time']), /^\d+$/);
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['x-powered-by'], undefined);
  assert.equal(headers['keep-alive'], undefined);
  assert.equal(headers.upgrade, 'websocket');
  assert.match(String(headers.connection), /^upgrade$/i);
  assert.equal(headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('undici\'s WebSocket client accepts the 101 and talks through it', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  const echoed = await new Promise<string>((resolve, reject) => {
    ws.onopen = () => ws.send('hello');
    ws.onmessage = (e) => resolve(String(e.data));
    ws.onerror = () => reject(new Error('the WebSocket failed'));
  });
  assert.equal(echoed, 'hello');
  const closed = new Promise<number>((r) => (ws.onclose = (e) => r(e.code)));
  ws.close(1000);
  assert.equal(await closed, 1000);
});
