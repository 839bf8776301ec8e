/**
 * An upstream may answer before it has read the whole request body (RFC 9112 §9.3, RFC 9113 §8.1):
 * the response is forwarded, and the upstream connection or stream that still owes body bytes is
 * never handed to the next request. A reused HTTP/1.1 connection would deliver the next request's
 * head in the middle of the old body.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { rawExchange } from '../support/raw-http.js';

/** Upstream connections' first request lines, in order of arrival. */
const firstLines: string[] = [];
let h1Upstream: net.Server;
let h2Upstream: http2.Http2Server;
/** Streams the HTTP/2 upstream saw close, with the code the peer closed them with. */
const h2Closed: number[] = [];
/** For each stream whose body the upstream read to its end: true when that end was END_STREAM (the body looked whole). */
const h2BodyEnded: boolean[] = [];
let proxy: RunningProxy;
let port: number;

before(async () => {
  // Answers each connection's first request at once and never reads a body; later bytes on the
  // connection are ignored, so a request that lands mid-body never gets an answer.
  h1Upstream = net.createServer((socket) => {
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      answered = true;
      const line = chunk.toString('latin1').split('\r\n', 1)[0]!;
      firstLines.push(line);
      const body = line.startsWith('POST') ? 'early' : 'second';
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => h1Upstream.listen(0, '127.0.0.1', r));
  h2Upstream = http2.createServer();
  h2Upstream.on('stream', (stream, headers) => {
    stream.on('close', () => h2Closed.push(stream.rstCode ?? -1));
    stream.on('end', () => h2BodyEnded.push(stream.rstCode === undefined));
    stream.resume();
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(headers[':method'] === 'POST' ? 'early' : 'second');
  });
  await new Promise<void>((r) => h2Upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = {
    name: 'r',
    virtualHosts: [
      {
        name: 'vh',
        domains: ['*'],
        routes: [
          { match: { prefix: '/h2' }, route: { cluster: 'h2', timeout: '3s' } },
          { match: { prefix: '/' }, route: { cluster: 'h1', timeout: '3s' } },
        ],
      },
    ],
  };
  proxy = await startProxy(
    bootstrap(
      [httpListener('ingress', port, routes)],
      [
        staticCluster('h1', [(h1Upstream.address() as AddressInfo).port]),
        staticCluster('h2', [(h2Upstream.address() as AddressInfo).port], { http2ProtocolOptions: {} }),
      ],
    ),
    { concurrency: 1 },
  );
});

after(async () => {
  await proxy?.stop();
  h1Upstream?.close();
  h2Upstream?.close();
});

/** A POST announcing 1 MB that sends only its first 1000 bytes, then waits for the answer. */
function partialPost(path: string): Promise<string> {
  const head = `POST ${path} HTTP/1.1\r\nhost: a\r\ncontent-length: 1000000\r\n\r\n`;
  return rawExchange(port, head + 'x'.repeat(1000), (s) => s.includes('\r\n\r\n') && /early$/.test(s), 3000);
}

test('an HTTP/1.1 upstream connection that still owes request body is not reused', async () => {
  const early = await partialPost('/upload');
  assert.match(early, /^HTTP\/1\.1 200 /);
  assert.match(early, /early$/);
  // The client's connection ends after this answer, and the answer says so.
  assert.match(early, /\r\nconnection: close\r\n/);
  const second = await rawExchange(port, 'GET /after HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n', (s) => /second$/.test(s), 5000);
  assert.match(second, /^HTTP\/1\.1 200 /, `the next request went to a clean connection: ${second}`);
  assert.deepEqual(firstLines, ['POST /upload HTTP/1.1', 'GET /after HTTP/1.1']);
});

test('an HTTP/2 upstream stream that answered early is closed, and the session serves the next request', async () => {
  const early = await partialPost('/h2/upload');
  assert.match(early, /^HTTP\/1\.1 200 /);
  const deadline = Date.now() + 3000;
  while (h2Closed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(h2Closed.length, 1, 'the early-answered stream closed');
  // The rest of the body never came: the upstream must see a reset, not a body that ends cleanly.
  assert.notEqual(h2Closed[0], 0, 'the stream was reset');
  assert.ok(!h2BodyEnded.includes(true), 'the partial body never looked complete');
  const second = await rawExchange(port, 'GET /h2/after HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n', (s) => /second$/.test(s), 5000);
  assert.match(second, /^HTTP\/1\.1 200 /);
});
