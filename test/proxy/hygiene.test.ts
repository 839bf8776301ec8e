import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { rawExchange } from '../support/raw-http.js';

let up: TestUpstream;
let proxy: RunningProxy;
let port: number;
/** A listener with Envoy's stricter options set: underscores dropped, escaped slashes refused, no HTTP/1.0, every new trace sampled. */
let strictPort: number;

before(async () => {
  up = await startUpstream('up');
  port = await freePort();
  strictPort = await freePort();
  const hcm = { requestHeadersTimeout: '500ms', maxRequestHeadersKb: 8, commonHttpProtocolOptions: { maxHeadersCount: 50 } };
  const strict = {
    statPrefix: 'inbound_strict',
    commonHttpProtocolOptions: { headersWithUnderscoresAction: 'DROP_HEADER' },
    pathWithEscapedSlashesAction: 'REJECT_REQUEST',
    httpProtocolOptions: { acceptHttp10: false },
    tracing: { randomSampling: { value: 100 } },
  };
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  proxy = await startProxy(bootstrap([httpListener('ingress', port, routes, hcm), httpListener('strict', strictPort, routes, strict)], [staticCluster('up', [up.port])]));
});

after(async () => {
  await proxy?.stop();
  await up?.close();
});

/** Sends raw bytes; returns the status of the first response and whether the proxy closed the connection. */
async function send(raw: string): Promise<{ status: number; text: string }> {
  const text = await rawExchange(port, raw, () => false, 2000);
  const m = /^HTTP\/1\.1 (\d+)/.exec(text);
  return { status: m ? Number(m[1]) : 0, text };
}

const smuggling: Array<[string, string]> = [
  ['Content-Length with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG'],
  ['duplicate Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde'],
  ['invalid Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3a\r\n\r\nabc'],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'],
  ['space before colon', 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n'],
  ['TE chunked with a trailing NBSP', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\xa0\r\n\r\n0\r\n\r\n'],
  ['TE not ending in chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
  ['bare LF', 'GET / HTTP/1.1\nHost: x\n\n'],
  ['missing Host', 'GET / HTTP/1.1\r\n\r\n'],
  ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
  ['NUL in a header', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n'],
  // RFC 9112 §3.2: a missing (HTTP/1.1), repeated or invalid Host is a 400, whatever the target's form.
  ['Host with userinfo', 'GET / HTTP/1.1\r\nHost: user@x\r\n\r\n'],
  ['Host with a port that is not a number', 'GET / HTTP/1.1\r\nHost: x:abc\r\n\r\n'],
  ['an absolute-form target without Host', 'GET http://x/ HTTP/1.1\r\n\r\n'],
  ['an absolute-form target with userinfo', 'GET http://user@x/ HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['garbage', '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n'],
];

for (const [name, raw] of smuggling) {
  test(`${name} gets 400, the connection closes and nothing reaches the upstream`, async () => {
    const before = up.requests.length;
    const r = await send(raw);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /connection: close/i);
    assert.equal(up.requests.length, before);
  });
}

test('a chunk size line or trailer section parsers read differently gets 400 and the connection closes', async () => {
  for (const [line, trailer] of [
    ['5 ', ''],
    ['5;', ''],
    ['5;a=b c', ''],
    ['5', 'Content-Length: 5\r\n'],
    ['5', 'Transfer-Encoding: chunked\r\n'],
  ]) {
    const r = await send(`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${line}\r\nhello\r\n0\r\n${trailer}\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(r.status, 400, `${JSON.stringify(line)} ${JSON.stringify(trailer)}: ${r.text}`);
    assert.match(r.text, /connection: close/i);
    assert.ok(!up.requests.some((q) => q.url === '/smuggled'));
  }
});

test('a smuggled second request after a refused one never reaches the upstream', async () => {
  const before = up.requests.length;
  await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(up.requests.length, before);
});

test('a chunked upload under a transfer coding the proxy does not decode (curl, gzip then chunked) gets 501 and nothing reaches the upstream', async () => {
  const before = up.requests.length;
  const r = await curl(['-H', 'transfer-encoding: gzip, chunked', '--data-binary', 'hello', `http://127.0.0.1:${port}/coded`]);
  assert.equal(r.status, 501, r.body);
  assert.equal(r.headers.connection, 'close');
  assert.equal(up.requests.length, before);
});

test('an oversized header section gets 431', async () => {
  const r = await send(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10 * 1024)}\r\n\r\n`);
  assert.equal(r.status, 431);
  const many = Array.from({ length: 60 }, (_, i) => `X-${i}: v`).join('\r\n');
  assert.equal((await send(`GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`)).status, 431);
});

test('an unsupported HTTP version gets 505; a higher HTTP/1 minor version is served as HTTP/1.1 (RFC 9110 §2.5)', async () => {
  assert.equal((await send('GET / HTTP/2.0\r\nHost: x\r\n\r\n')).status, 505);
  // send() reads an HTTP/1.1 status line only.
  assert.equal((await send('GET / HTTP/1.2\r\nHost: x\r\nConnection: close\r\n\r\n')).status, 200);
});

test('a client that sends its head too slowly gets 408 (slowloris)', async () => {
  const s = net.connect(port, '127.0.0.1');
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  s.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const closed = await new Promise<boolean>((resolve) => {
    const drip = setInterval(() => s.write('X-Drip: 1\r\n'), 100);
    s.on('close', () => {
      clearInterval(drip);
      resolve(true);
    });
    setTimeout(() => {
      clearInterval(drip);
      resolve(false);
    }, 3000);
  });
  s.destroy();
  assert.ok(closed, 'the proxy kept a slow client open');
  assert.match(text, /^HTTP\/1\.1 408/);
});

test('the proxy lives on after a storm of malformed input', async () => {
  await Promise.all(smuggling.map(([, raw]) => send(raw)));
  const r = await curl([`http://127.0.0.1:${port}/after-storm`]);
  assert.equal(r.status, 200);
  assert.equal(proxy.child.exitCode, null);
});

test('HTTP/1.0 clients never get chunked encoding: the body is sized or ends with the connection', async () => {
  const r = await send('GET /one HTTP/1.0\r\n\r\n');
  assert.equal(r.status, 200);
  assert.doesNotMatch(r.text, /transfer-encoding/i);
  assert.match(r.text, /connection: close/i);
  assert.equal(JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).url, '/one');
});

test('Expect: 100-continue is answered by the proxy', async () => {
  const r = await curl(['-H', 'Expect: 100-continue', '--data-binary', 'x'.repeat(2048), `http://127.0.0.1:${port}/expect`]);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).body.length, 2048);
});

test('headersWithUnderscoresAction DROP_HEADER drops x_user before routing and forwarding; other headers pass', async () => {
  const r = await curl(['-H', 'x_user: admin', '-H', 'x-user: alice', `http://127.0.0.1:${strictPort}/underscore`]);
  assert.equal(r.status, 200);
  const seen = up.requests.find((q) => q.url === '/underscore')!;
  assert.equal(seen.headers['x_user'], undefined);
  assert.equal(seen.headers['x-user'], 'alice');
});

test('pathWithEscapedSlashesAction REJECT_REQUEST refuses %2F in the path (not in the query) with 400', async () => {
  assert.equal((await curl([`http://127.0.0.1:${strictPort}/a%2Fb`])).status, 400);
  assert.equal((await curl([`http://127.0.0.1:${strictPort}/a%5cb`])).status, 400);
  assert.equal((await curl([`http://127.0.0.1:${strictPort}/ab?next=%2Fhome`])).status, 200);
  // The default listener keeps them unchanged.
  assert.equal((await curl([`http://127.0.0.1:${port}/a%2Fb`])).status, 200);
  assert.ok(up.requests.some((q) => q.url === '/a%2Fb'));
});

test('acceptHttp10 false answers HTTP/1.0 with 426; the default listener serves it', async () => {
  const strict = await rawExchange(strictPort, 'GET / HTTP/1.0\r\n\r\n', () => false, 1500);
  assert.match(strict, /^HTTP\/1\.1 426 /);
  const open = await rawExchange(port, 'GET /ten HTTP/1.0\r\n\r\n', () => false, 1500);
  assert.match(open, /^HTTP\/1\.1 200 /);
});

test('tracing.randomSampling 100 marks new traces sampled; without a tracing block they are not', async () => {
  await curl([`http://127.0.0.1:${strictPort}/sampled`]);
  await curl([`http://127.0.0.1:${port}/unsampled`]);
  const sampled = up.requests.find((q) => q.url === '/sampled')!;
  const unsampled = up.requests.find((q) => q.url === '/unsampled')!;
  assert.match(String(sampled.headers.traceparent), /-01$/);
  assert.equal(sampled.headers['x-b3-sampled'], '1');
  assert.match(String(unsampled.headers.traceparent), /-00$/);
  // An incoming decision is kept either way.
  await curl(['-H', 'x-b3-sampled: 0', `http://127.0.0.1:${strictPort}/kept`]);
  assert.equal(up.requests.find((q) => q.url === '/kept')!.headers['x-b3-sampled'], '0');
});

test('a client that half-closes after sending its requests still gets every answer, then the proxy closes', async () => {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const ended = new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 3000);
    s.on('end', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
  // As `printf ... | nc -N` sends: the requests, then FIN.
  s.end('GET /half-1 HTTP/1.1\r\nHost: x\r\n\r\nGET /half-2 HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(await ended, 'the proxy never closed');
  s.destroy();
  const bodies = text.split(/HTTP\/1\.1 /).filter(Boolean);
  assert.equal(bodies.length, 2, text);
  assert.match(bodies[0]!, /^200 [^]*"url":"\/half-1"/);
  assert.match(bodies[1]!, /^200 [^]*"url":"\/half-2"/);
});

test('an absolute-form target names the host and path sent on: its authority replaces the Host header, an empty path is "/"', async () => {
  for (const [target, url] of [
    ['http://other.example/abs?q=1', '/abs?q=1'],
    ['http://other.example', '/'],
    ['http://other.example?q=2', '/?q=2'],
  ] as const) {
    const r = await send(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 200, r.text);
    // The echoing upstream's JSON, as it arrived (chunked).
    assert.equal(/"url":"([^"]*)"/.exec(r.text)?.[1], url);
    assert.equal(/"host":"([^"]*)"/.exec(r.text)?.[1], 'other.example');
  }
});
