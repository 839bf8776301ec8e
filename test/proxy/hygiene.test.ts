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

before(async () => {
  up = await startUpstream('up');
  port = await freePort();
  const hcm = { requestHeadersTimeout: '500ms', maxRequestHeadersKb: 8, commonHttpProtocolOptions: { maxHeadersCount: 50 } };
  proxy = await startProxy(bootstrap([httpListener('ingress', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]), hcm)], [staticCluster('up', [up.port])]));
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
  ['TE not ending in chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
  ['bare LF', 'GET / HTTP/1.1\nHost: x\n\n'],
  ['missing Host', 'GET / HTTP/1.1\r\n\r\n'],
  ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
  ['NUL in a header', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n'],
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

test('a smuggled second request after a refused one never reaches the upstream', async () => {
  const before = up.requests.length;
  await send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(up.requests.length, before);
});

test('an oversized header section gets 431', async () => {
  const r = await send(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10 * 1024)}\r\n\r\n`);
  assert.equal(r.status, 431);
  const many = Array.from({ length: 60 }, (_, i) => `X-${i}: v`).join('\r\n');
  assert.equal((await send(`GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`)).status, 431);
});

test('an unsupported HTTP version gets 505', async () => {
  assert.equal((await send('GET / HTTP/1.2\r\nHost: x\r\n\r\n')).status, 505);
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
