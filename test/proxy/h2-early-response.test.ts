/**
 * A response that completes while an HTTP/2 client is still uploading (an upstream's early 413, a
 * local 503) ends the stream with RST_STREAM NO_ERROR after it, as RFC 9113 §8.1 provides and Envoy
 * does: the client stops sending and its stream closes. Without it nobody reads the rest of the body,
 * the flow-control window stays shut, and a client that waits for its upload to finish (h2load,
 * nghttp -d) waits forever.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

let upstream: http.Server;
let proxy: RunningProxy;
let port: number;

before(async () => {
  // Refuses every upload at once, without reading it.
  upstream = http.createServer((_req, res) => {
    res.writeHead(413, { 'content-length': '8' });
    res.end('too big\n');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/nowhere' }, route: { cluster: 'empty' } },
    { match: { prefix: '/' }, route: { cluster: 'refuser' } },
  ]);
  proxy = await startProxy(
    bootstrap([httpListener('h', port, routes)], [staticCluster('refuser', [(upstream.address() as AddressInfo).port]), staticCluster('empty', [])]),
  );
});

after(async () => {
  await proxy?.stop();
  upstream?.closeAllConnections();
  upstream?.close();
});

/** POSTs a body far larger than any flow-control window; resolves with the status and how the stream closed. */
function upload(path: string): Promise<{ status: number; closed: boolean; rstCode: number | undefined }> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  return new Promise((resolve) => {
    let status = 0;
    const s = client.request({ ':method': 'POST', ':path': path });
    s.on('error', () => undefined);
    s.on('response', (h) => (status = Number(h[':status'])));
    s.resume();
    const timer = setTimeout(() => done(false), 3000);
    const done = (closed: boolean) => {
      clearTimeout(timer);
      resolve({ status, closed, rstCode: s.rstCode });
      client.destroy();
    };
    s.on('close', () => done(true));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < 8 * 1024 * 1024 && !s.destroyed) {
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      if (!s.destroyed) s.end();
    };
    pump();
  });
}

test('an upstream that answers before the upload is done: the client gets the answer, then RST_STREAM NO_ERROR', async () => {
  const r = await upload('/upload');
  assert.equal(r.status, 413);
  assert.equal(r.closed, true, 'the stream closed');
  assert.equal(r.rstCode, http2.constants.NGHTTP2_NO_ERROR);
});

test('a local reply during an upload closes the stream the same way', async () => {
  const r = await upload('/nowhere');
  assert.equal(r.status, 503);
  assert.equal(r.closed, true, 'the stream closed');
  assert.equal(r.rstCode, http2.constants.NGHTTP2_NO_ERROR);
});
