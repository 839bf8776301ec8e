/**
 * Request trailers reach an HTTP/2 upstream, from an HTTP/2 client or a chunked HTTP/1.1 one, and a
 * request without them still ends as it should.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { proxyToH2Upstream } from '../support/h2-upstream-proxy.js';
import type { RunningProxy } from '../support/proxy-process.js';

let upstream: http2.Http2Server;
let proxy: RunningProxy;
let port: number;

before(async () => {
  // Answers with the body it read and the request trailers it got.
  upstream = http2.createServer();
  upstream.on('stream', (stream) => {
    let body = '';
    let trailers: http2.IncomingHttpHeaders = {};
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (body += d));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(JSON.stringify({ body, trailer: trailers['x-checksum'] ?? null }));
    });
  });
  ({ proxy, port } = await proxyToH2Upstream(upstream));
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

function h2Post(trailers: Record<string, string> | undefined): Promise<{ body: string; trailer: string | null }> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  return new Promise((resolve, reject) => {
    const s = client.request({ ':method': 'POST', ':path': '/upload' }, { waitForTrailers: trailers !== undefined });
    if (trailers) s.on('wantTrailers', () => s.sendTrailers(trailers));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => {
      client.close();
      resolve(JSON.parse(out));
    });
    s.on('error', reject);
    s.end('hello');
  });
}

test('an HTTP/2 request trailer reaches the HTTP/2 upstream', async () => {
  assert.deepEqual(await h2Post({ 'x-checksum': 'abc123' }), { body: 'hello', trailer: 'abc123' });
});

test('an HTTP/2 request body without trailers still ends', async () => {
  assert.deepEqual(await h2Post(undefined), { body: 'hello', trailer: null });
});

test('a chunked HTTP/1.1 request trailer reaches the HTTP/2 upstream', async () => {
  const socket = net.connect(port, '127.0.0.1');
  let raw = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (raw += d));
  socket.write('POST /upload HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n5\r\nhello\r\n0\r\nx-checksum: abc123\r\n\r\n');
  const deadline = Date.now() + 3000;
  while (!raw.includes('}') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  socket.destroy();
  assert.deepEqual(JSON.parse(raw.slice(raw.indexOf('{'), raw.lastIndexOf('}') + 1)), { body: 'hello', trailer: 'abc123' });
});

test('connection-specific fields in a chunked HTTP/1.1 request trailer are dropped, not sent to the HTTP/2 upstream (node threw on them and the proxy exited)', async () => {
  // Each of these, as a trailer forwarded to an HTTP/2 upstream, made node:http2 throw inside its stream callback.
  for (const field of ['connection: close', 'keep-alive: timeout=5', 'proxy-connection: keep-alive', 'te: gzip', 'upgrade: h2c', 'http2-settings: AAMAAABkAAQAAP__']) {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (raw += d));
    socket.on('error', () => undefined);
    socket.write(`POST /upload HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n${field}\r\nx-checksum: abc123\r\n\r\n`);
    const deadline = Date.now() + 3000;
    while (!raw.includes('}') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    socket.destroy();
    assert.equal(proxy.child.exitCode, null, `the proxy exited on the trailer ${field}`);
    assert.deepEqual(JSON.parse(raw.slice(raw.indexOf('{'), raw.lastIndexOf('}') + 1)), { body: 'hello', trailer: 'abc123' }, field);
  }
});
