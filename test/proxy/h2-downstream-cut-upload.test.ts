/**
 * An HTTP/2 client that resets its stream in the middle of an upload has sent half a body. node:http2
 * still emits 'end' on the stream as it tears it down; that must not reach the upstream as the end of
 * the request (a last chunk towards HTTP/1.1, END_STREAM towards HTTP/2), or the upstream would take
 * the half for the whole and act on it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { resetStream } from '../../src/proxy/http/h2-reset.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

/** What each upstream saw of a request body: 'data' once, then 'end' (complete) or 'aborted'. */
const seen = new Map<string, string[]>();
let firstData: ((path: string) => void) | undefined;
let closed: ((path: string) => void) | undefined;
let h1: http.Server;
let h2: http2.Http2Server;
let proxy: RunningProxy;
let port: number;

function record(path: string, body: NodeJS.EventEmitter): void {
  const events: string[] = [];
  seen.set(path, events);
  body.on('data', () => {
    if (!events.includes('data')) {
      events.push('data');
      firstData?.(path);
    }
  });
  body.on('end', () => events.push('end'));
  body.on('aborted', () => events.push('aborted'));
  body.on('error', () => undefined);
  body.on('close', () => closed?.(path));
}

before(async () => {
  h1 = http.createServer((req, res) => {
    record(req.url!, req);
    req.on('end', () => res.end('stored'));
  });
  h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    record(String(headers[':path']), stream);
    stream.on('end', () => {
      if (!stream.destroyed) {
        stream.respond({ ':status': 200 });
        stream.end('stored');
      }
    });
  });
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/h2/' }, route: { cluster: 'h2', timeout: '5s' } },
    { match: { prefix: '/' }, route: { cluster: 'h1', timeout: '5s' } },
  ]);
  proxy = await startProxy(
    bootstrap(
      [httpListener('h', port, routes)],
      [staticCluster('h1', [(h1.address() as AddressInfo).port]), staticCluster('h2', [(h2.address() as AddressInfo).port], { http2ProtocolOptions: {} })],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  h1?.closeAllConnections();
  h1?.close();
  h2?.close();
});

for (const path of ['/upload-to-h1', '/h2/upload-to-h2']) {
  test(`a client RST_STREAM mid-upload never reaches ${path.startsWith('/h2/') ? 'an HTTP/2' : 'an HTTP/1.1'} upstream as a complete body`, async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => undefined);
    const arrived = new Promise<void>((resolve) => (firstData = (p) => p === path && resolve()));
    const upstreamClosed = new Promise<void>((resolve) => (closed = (p) => p === path && resolve()));
    // No content-length: the body streams, chunked towards HTTP/1.1.
    const s = client.request({ ':method': 'POST', ':path': path });
    s.on('error', () => undefined);
    s.write(Buffer.alloc(30_000, 0x61));
    await arrived;
    // RST_STREAM alone: node:http2's own close(code) would send END_STREAM first.
    resetStream(s, http2.constants.NGHTTP2_CANCEL);
    await Promise.race([upstreamClosed, new Promise((r) => setTimeout(r, 3000))]);
    client.close();
    const events = seen.get(path)!;
    const end = events.indexOf('end');
    const aborted = events.indexOf('aborted');
    assert.ok(aborted >= 0, `the upstream saw the request aborted (${events.join(',')})`);
    // node emits 'end' after 'aborted' as it tears a request down; before it, it means a complete body.
    assert.ok(end < 0 || end > aborted, `no end of body before the abort (${events.join(',')})`);
  });
}
