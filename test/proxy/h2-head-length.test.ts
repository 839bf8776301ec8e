/**
 * A HEAD response carries the Content-Length a GET would have (RFC 9110 §9.3.2), whichever protocol
 * each side speaks: clients read it to learn a resource's size without fetching it.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const SIZE = 12_345;
let h1: TestUpstream;
let h2: http2.Http2Server;
let proxy: RunningProxy;
let port: number;

before(async () => {
  h1 = await startUpstream('h1', (req, res) => {
    if (req.url === '/no-content') {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': String(SIZE) });
    res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(SIZE, 0x61));
  });
  h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    const head = headers[':method'] === 'HEAD';
    if (headers[':path'] === '/h2/unsized') {
      // A streamed body of no announced length: its HEAD says none either.
      stream.respond({ ':status': 200 }, { endStream: head });
      if (!head) stream.end('streamed');
      return;
    }
    stream.respond({ ':status': 200, 'content-length': String(SIZE) }, { endStream: head });
    if (!head) stream.end(Buffer.alloc(SIZE, 0x61));
  });
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/h2/' }, route: { cluster: 'h2' } },
    { match: { prefix: '/' }, route: { cluster: 'h1' } },
  ]);
  proxy = await startProxy(
    bootstrap(
      [httpListener('h', port, routes)],
      [staticCluster('h1', [h1.port]), staticCluster('h2', [(h2.address() as AddressInfo).port], { http2ProtocolOptions: {} })],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  await h1?.close();
  h2?.close();
});

for (const [name, args, path] of [
  ['HTTP/2 client, HTTP/1.1 upstream', ['--http2-prior-knowledge'], '/file'],
  ['HTTP/2 client, HTTP/2 upstream', ['--http2-prior-knowledge'], '/h2/file'],
  ['HTTP/1.1 client, HTTP/2 upstream', ['--http1.1'], '/h2/file'],
] as const) {
  test(`${name}: HEAD answers with the Content-Length of the GET`, async () => {
    const r = await curl([...args, '-I', `http://127.0.0.1:${port}${path}`]);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(SIZE));
    assert.equal(r.body, '');
    const get = await curl([...args, `http://127.0.0.1:${port}${path}`]);
    assert.equal(get.body.length, SIZE);
  });
}

test('HTTP/1.1 client, HTTP/2 upstream: a HEAD whose GET has no length is not told "content-length: 0"', async () => {
  const r = await curl(['--http1.1', '-I', `http://127.0.0.1:${port}/h2/unsized`]);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], undefined, 'the resource is not empty');
  assert.equal(r.body, '');
  const get = await curl(['--http1.1', `http://127.0.0.1:${port}/h2/unsized`]);
  assert.equal(get.body, 'streamed');
});

test('HTTP/2: a 204 still carries no Content-Length', async () => {
  const r = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${port}/no-content`]);
  assert.equal(r.status, 204);
  assert.equal(r.headers['content-length'], undefined);
});
