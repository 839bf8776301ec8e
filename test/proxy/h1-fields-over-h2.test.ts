/**
 * What an HTTP/1.1 message carries that HTTP/2 cannot, crossing to HTTP/2 either way. A field
 * HTTP/1.1 repeats (two User-Agent lines from a client, two Content-Type lines from an upstream)
 * goes with its first value where node:http2 sends a name only once, and as a list elsewhere; an
 * Upgrade towards an HTTP/2 cluster is ignored (RFC 9110 §7.8). node:http2 threw on both: the
 * request failed as if the upstream had reset it (retried, 503, and counted against a healthy host
 * by outlier detection, so five such requests ejected it), the response went as a reset.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { rawExchange } from '../support/raw-http.js';

let h2Upstream: http2.Http2Server;
let h1Upstream: net.Server;
const streams: http2.IncomingHttpHeaders[] = [];
let proxy: RunningProxy;
let port: number;

before(async () => {
  h2Upstream = http2.createServer();
  h2Upstream.on('stream', (stream, headers) => {
    streams.push(headers);
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  // Answers with a repeated single-value field, as a careless application server may.
  h1Upstream = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-type: text/html\r\nx-multi: 1\r\nx-multi: 2\r\ncontent-length: 2\r\n\r\nok'));
  });
  await new Promise<void>((r) => h2Upstream.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => h1Upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/to-h2' }, route: { cluster: 'h2' } },
    { match: { prefix: '/' }, route: { cluster: 'h1' } },
  ]);
  // One process: outlier detection counts per process.
  proxy = await startProxy(
    bootstrap(
      [httpListener('in', port, routes, { upgradeConfigs: [{ upgradeType: 'websocket' }] })],
      [
        staticCluster('h2', [(h2Upstream.address() as AddressInfo).port], { http2ProtocolOptions: {}, outlierDetection: { consecutive5xx: 3 } }),
        staticCluster('h1', [(h1Upstream.address() as AddressInfo).port]),
      ],
    ),
    { concurrency: 1 },
  );
});

after(async () => {
  await proxy?.stop();
  h2Upstream?.close();
  h1Upstream?.close();
});

test('an HTTP/1.1 request repeating User-Agent and Authorization reaches an HTTP/2 upstream once, with the first values', async () => {
  const before = streams.length;
  const raw = 'GET /to-h2 HTTP/1.1\r\nHost: a\r\nUser-Agent: first\r\nUser-Agent: second\r\nAuthorization: Bearer one\r\nAuthorization: Bearer two\r\nX-Multi: 1\r\nX-Multi: 2\r\nConnection: close\r\n\r\n';
  const text = await rawExchange(port, raw, () => false, 3000);
  assert.match(text, /^HTTP\/1\.1 200 /, text);
  assert.equal(streams.length, before + 1, 'the request went more than once');
  const seen = streams[streams.length - 1]!;
  assert.equal(seen['user-agent'], 'first');
  assert.equal(seen.authorization, 'Bearer one');
  assert.equal(seen['x-multi'], '1, 2');
});

test('an HTTP/1.1 response repeating Content-Type reaches an HTTP/2 client with the first value, not as a reset', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const { headers, body } = await new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const s = client.request({ ':path': '/from-h1' });
      let body = '';
      let headers: http2.IncomingHttpHeaders = {};
      s.on('response', (h) => (headers = h));
      s.setEncoding('utf8');
      s.on('data', (d: string) => (body += d));
      s.on('end', () => resolve({ headers, body }));
      s.on('error', reject);
    });
    assert.equal(headers[':status'], 200);
    assert.equal(headers['content-type'], 'text/plain');
    assert.equal(headers['x-multi'], '1, 2');
    assert.equal(body, 'ok');
  } finally {
    client.close();
  }
});

test('a WebSocket upgrade routed to an HTTP/2 cluster is served as a plain request, not failed against the host', async () => {
  const before = streams.length;
  for (let i = 0; i < 4; i++) {
    const raw = 'GET /to-h2/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    const text = await rawExchange(port, raw, (s) => s.endsWith('0\r\n\r\n'), 3000);
    assert.match(text, /^HTTP\/1\.1 200 /, text);
    assert.equal(streams[streams.length - 1]!.upgrade, undefined);
  }
  assert.equal(streams.length, before + 4);
  assert.doesNotMatch(proxy.logs(), /ejected/);
});
