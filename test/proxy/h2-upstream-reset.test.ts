/**
 * An HTTP/2 upstream that resets a stream has seen it: only REFUSED_STREAM promises it did no work
 * (RFC 9113 §8.7). Any other reset is the request's answer, not a stale connection, so without a
 * retry policy the request is not sent again, however many streams the connection carried before.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { curl } from '../support/curl.js';
import { proxyToH2Upstream } from '../support/h2-upstream-proxy.js';
import type { RunningProxy } from '../support/proxy-process.js';

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
let upstream: http2.Http2Server;
const sockets = new Set<Socket>();
const seen = new Map<string, number>();
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = http2.createServer();
  upstream.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  upstream.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    seen.set(path, (seen.get(path) ?? 0) + 1);
    stream.on('error', () => undefined);
    // Reset before any response, as a server does that fails a request it has started on.
    if (path.startsWith('/internal-error')) stream.close(NGHTTP2_INTERNAL_ERROR);
    // The whole connection goes, as when a server process dies under a request.
    else if (path === '/connection-dies') for (const socket of sockets) socket.destroy();
    else if (path === '/refused' && seen.get(path) === 1) stream.close(NGHTTP2_REFUSED_STREAM);
    else {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    }
  });
  ({ proxy, port } = await proxyToH2Upstream(upstream));
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

test('a stream the upstream resets with INTERNAL_ERROR on a reused connection is answered 503 once, not replayed', async () => {
  // The connection carries a stream first, so the reset lands on a reused connection.
  assert.equal((await curl([`http://127.0.0.1:${port}/warm-up`])).status, 200);
  for (const method of ['GET', 'DELETE']) {
    const path = `/internal-error-${method}`;
    const r = await curl(['-X', method, `http://127.0.0.1:${port}${path}`]);
    assert.equal(r.status, 503);
    assert.equal(seen.get(path), 1, `${method} reached the upstream ${seen.get(path)} times`);
  }
});

test('a stream refused with REFUSED_STREAM still goes again, and succeeds', async () => {
  const r = await curl([`http://127.0.0.1:${port}/refused`]);
  assert.equal(r.status, 200);
  assert.equal(seen.get('/refused'), 2);
});

test('a connection that dies under a request is connection termination (UC), not a stream reset (UR)', async () => {
  const r = await curl([`http://127.0.0.1:${port}/connection-dies`]);
  assert.equal(r.status, 503);
  assert.match(r.body, /reset reason: connection termination$/);
});
