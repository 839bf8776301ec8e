/**
 * Headers a route or virtual host adds (requestHeadersToAdd) meet HTTP/2 after the stream has
 * dropped the client's hop-by-hop fields. A configured Connection, Upgrade, Keep-Alive or a TE
 * other than "trailers" made node:http2 throw, and a header block larger than node sends made it
 * refuse the stream: either way the request failed as if the upstream had reset it, was retried, and
 * counted against a healthy host, which outlier detection then ejected. Connection-specific fields
 * are now left out (RFC 9113 §8.2.2), a block node will not send is a local 500 never counted
 * against the host. Edits Envoy refuses (pseudo-headers, Host) are refused at load, and so are
 * added Content-Length and Transfer-Encoding: the proxy frames messages itself, and a second framing
 * field made the upstream (or client) read the next message from the wrong byte.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { scratchPath } from '../support/scratch-path.js';

let upstream: http2.Http2Server;
const seen: http2.IncomingHttpHeaders[] = [];
let proxy: RunningProxy;
let port: number;
const accessLog = scratchPath('h2-configured-headers.log');

const add = (key: string, value: string) => ({ header: { key, value } });

function routes(extra: object[] = []): object {
  return routeConfig([
    ...extra,
    { match: { prefix: '/hop' }, route: { cluster: 'h2' }, requestHeadersToAdd: [add('connection', 'keep-alive'), add('keep-alive', 'timeout=5'), add('upgrade', 'h2c'), add('te', 'gzip'), add('proxy-connection', '%REQ(x-hop)%')] },
    { match: { prefix: '/te-trailers' }, route: { cluster: 'h2' }, requestHeadersToAdd: [add('te', 'Trailers')] },
    { match: { prefix: '/copy' }, route: { cluster: 'h2' }, requestHeadersToAdd: [add('x-copy', '%REQ(x-big)%'), add('x-copy-again', '%REQ(x-big)%')] },
    { match: { prefix: '/answer-te' }, route: { cluster: 'h2' }, responseHeadersToAdd: [add('te', 'gzip'), add('connection', 'close')] },
    { match: { prefix: '/' }, route: { cluster: 'h2' } },
  ]);
}

function config(routeConfiguration: object): string {
  return bootstrap(
    [httpListener('in', port, routeConfiguration, { accessLog: [{ typedConfig: { path: accessLog } }] })],
    [staticCluster('h2', [(upstream.address() as AddressInfo).port], { http2ProtocolOptions: {}, outlierDetection: { consecutive5xx: 3, consecutiveLocalOriginFailure: 3 } })],
  );
}

before(async () => {
  upstream = http2.createServer({ settings: { maxHeaderListSize: 1 << 20 } });
  upstream.on('stream', (stream, headers) => {
    seen.push(headers);
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  // One process: outlier detection counts per process.
  proxy = await startProxy(config(routes()), { concurrency: 1 });
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

test('connection-specific fields a route adds are left out towards an HTTP/2 upstream, and the host is never blamed', async () => {
  const before = seen.length;
  for (let i = 0; i < 5; i++) {
    const r = await curl(['-H', 'x-hop: keep-alive', `http://127.0.0.1:${port}/hop/${i}`]);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'ok');
  }
  assert.equal(seen.length, before + 5, 'each request went once');
  for (const h of seen.slice(before)) {
    for (const name of ['connection', 'keep-alive', 'upgrade', 'te', 'proxy-connection']) assert.equal(h[name], undefined, name);
  }
  const te = await curl([`http://127.0.0.1:${port}/te-trailers`]);
  assert.equal(te.status, 200);
  assert.equal(seen[seen.length - 1]!.te, 'trailers', 'the one TE value HTTP/2 allows goes on');
  assert.doesNotMatch(proxy.logs(), /ejected/);
});

test('a header block node:http2 will not send is a local 500, never retried nor counted against the host', async () => {
  const before = seen.length;
  const big = 'b'.repeat(40_000);
  for (let i = 0; i < 5; i++) {
    const r = await curl(['-H', `x-big: ${big}`, `http://127.0.0.1:${port}/copy/${i}`]);
    assert.equal(r.status, 500, r.body);
  }
  assert.equal(seen.length, before, 'nothing reached the upstream');
  assert.doesNotMatch(proxy.logs(), /ejected/);
  const ok = await curl([`http://127.0.0.1:${port}/after`]);
  assert.equal(ok.status, 200);
  await new Promise((r) => setTimeout(r, 300));
  const lines = readFileSync(accessLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => String(l.path).startsWith('/copy/'));
  assert.equal(lines.length, 5);
  for (const l of lines) {
    assert.equal(l.response_code, 500);
    assert.match(String(l.response_code_details), /^request_headers_not_encodable\{header block too large to send\}$/);
  }
});

test('fields a route adds to a response that HTTP/2 forbids are left out, not a broken connection', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  try {
    for (let i = 0; i < 2; i++) {
      const { headers, body } = await new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const s = client.request({ ':path': '/answer-te' });
        let body = '';
        let headers: http2.IncomingHttpHeaders = {};
        s.on('response', (h) => (headers = h));
        s.setEncoding('utf8');
        s.on('data', (d: string) => (body += d));
        s.on('end', () => resolve({ headers, body }));
        s.on('error', reject);
      });
      assert.equal(headers[':status'], 200);
      assert.equal(headers.te, undefined);
      assert.equal(body, 'ok');
    }
  } finally {
    client.close();
  }
});

test('pseudo-headers and Host (as Envoy refuses them) and framing fields in header edits are refused at load, naming the field', async () => {
  for (const [edit, message] of [
    [{ requestHeadersToAdd: [add(':path', '/elsewhere')] }, /requestHeadersToAdd\[0\]\.header\.key: ":path": pseudo-headers and host may not be modified/],
    [{ requestHeadersToAdd: [add('host', 'other')] }, /requestHeadersToAdd\[0\]\.header\.key: "host": pseudo-headers and host may not be modified/],
    [{ requestHeadersToRemove: ['host'] }, /requestHeadersToRemove: "host": pseudo-headers and host may not be removed/],
    [{ requestHeadersToAdd: [add('content-length', '5')] }, /requestHeadersToAdd\[0\]\.header\.key: "content-length": message framing is set by the proxy and may not be added/],
    [{ responseHeadersToAdd: [add('transfer-encoding', 'chunked')] }, /responseHeadersToAdd\[0\]\.header\.key: "transfer-encoding": message framing is set by the proxy and may not be added/],
  ] as const) {
    const refused = config(routes([{ match: { prefix: '/edit' }, route: { cluster: 'h2' }, ...edit }]));
    await assert.rejects(startProxy(refused, { concurrency: 1 }), message);
  }
});
