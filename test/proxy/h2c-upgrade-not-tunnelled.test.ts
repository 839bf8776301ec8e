/**
 * An h2c upgrade (Upgrade: h2c, what `curl --http2` offers over cleartext) is never tunnelled, even on
 * a connection manager whose upgradeConfigs name h2c: as Envoy's HTTP/1.1 codec does, its upgrade
 * headers are dropped and the request is served as HTTP/1.1. Before, such a config made the proxy
 * forward the upgrade and pipe bytes blindly to whatever the upstream answered 101 with. An HTTP/1.0
 * request's Upgrade is ignored as well (RFC 9110 §7.8), even for a configured upgrade type.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { rawExchange } from '../support/raw-http.js';

let server: http.Server;
let proxy: RunningProxy;
let port: number;
let switched = 0;

before(async () => {
  server = http.createServer((req, res) => res.end(`served ${req.url} upgrade=${req.headers.upgrade ?? 'none'} settings=${req.headers['http2-settings'] ?? 'none'}`));
  // An upstream that switches to whatever it is asked for, then echoes raw bytes.
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    switched++;
    socket.on('error', () => undefined);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);
  proxy = await startProxy(
    bootstrap([httpListener('web', port, routes, { upgradeConfigs: [{ upgradeType: 'websocket' }, { upgradeType: 'h2c' }] })], [staticCluster('app', [(server.address() as net.AddressInfo).port])]),
  );
});

after(async () => {
  await proxy?.stop();
  server?.closeAllConnections();
  server?.close();
});

test('curl --http2 over cleartext is answered over HTTP/1.1 and the upstream never sees the upgrade', async () => {
  const r = await curl(['--http2', `http://127.0.0.1:${port}/curl`]);
  assert.equal(r.status, 200);
  assert.equal(r.httpVersion, '1.1');
  assert.equal(r.body, 'served /curl upgrade=none settings=none');
  assert.equal(switched, 0);
});

test('a request pipelined behind an h2c upgrade is served as the next HTTP/1.1 request', async () => {
  const reply = await rawExchange(
    port,
    'GET /first HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n' +
      'GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    (s) => s.includes('served /second'),
    3000,
  );
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.match(reply, /served \/first upgrade=none settings=none/);
  assert.match(reply, /served \/second upgrade=none/);
  assert.equal(switched, 0);
});

test('a WebSocket upgrade on the same listener is still tunnelled', async () => {
  const reply = await rawExchange(port, 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nping', (s) => s.endsWith('ping'), 3000);
  assert.match(reply, /^HTTP\/1\.1 101 /);
  assert.ok(reply.endsWith('\r\n\r\nping'), reply);
});

test("an HTTP/1.0 request's Upgrade is ignored: served as a plain request, never switched", async () => {
  const before = switched;
  const reply = await rawExchange(port, 'GET /old HTTP/1.0\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', (s) => s.includes('served /old'), 3000);
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.match(reply, /served \/old upgrade=none/);
  assert.equal(switched, before);
});
