/**
 * An HTTP/2 upstream whose connection dies after part of a response: the client must get a reset,
 * not a response that ends as if complete, and the request is logged as the connection
 * termination (UC) it was. node:http2 ends the readable side of a stream it closes for a dead
 * connection, as the upstream's END_STREAM would.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { proxyToH2Upstream } from '../support/h2-upstream-proxy.js';
import type { RunningProxy } from '../support/proxy-process.js';

const upstream = http2.createServer();
const sockets = new Set<Socket>();
let proxy: RunningProxy;
let port: number;

before(async () => {
  // Part of a gRPC response (no length, no trailers), then the connection goes.
  upstream.on('connection', (socket: Socket) => sockets.add(socket));
  upstream.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    stream.write(Buffer.alloc(1000, 1), () => {
      for (const socket of sockets) socket.destroy();
    });
  });
  ({ proxy, port } = await proxyToH2Upstream(upstream));
});
after(async () => {
  await proxy?.stop();
  upstream.close();
});

test('a response cut short by its HTTP/2 upstream connection dying reaches the client as a reset, logged UC', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  const stream = client.request({ ':method': 'POST', ':path': '/t.T/Watch', 'content-type': 'application/grpc', te: 'trailers' });
  stream.end(Buffer.from([0, 0, 0, 0, 0]));
  let bytes = 0;
  stream.on('data', (d: Buffer) => (bytes += d.length));
  stream.on('error', () => undefined);
  await new Promise((res) => stream.on('close', res));
  client.close();
  assert.equal(bytes, 1000);
  assert.equal(stream.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR, 'the stream ended as if complete');
  const metrics = (await proxy.get('/stats/prometheus')).body;
  const line = metrics.split('\n').find((l) => l.startsWith('istio_requests_total{'));
  assert.match(line ?? '', /response_flags="UC"/, line);
});
