/**
 * The connection manager's limits hold for HTTP/2 as for HTTP/1.1: maxRequestHeadersKb bounds a
 * request's header list, and maxRequestsPerConnection ends a connection (GOAWAY) after that many.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('u');
  port = await freePort();
  const hcm = { maxRequestHeadersKb: 8, commonHttpProtocolOptions: { maxRequestsPerConnection: 2 } };
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'u' } }]), hcm)], [staticCluster('u', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

function get(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<{ status: number; rstCode: number }> {
  return new Promise((resolve) => {
    const s = client.request({ ':path': '/', ...headers });
    let status = 0;
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('error', () => undefined);
    s.resume();
    s.on('close', () => resolve({ status, rstCode: s.rstCode ?? -1 }));
  });
}

test('maxRequestsPerConnection: the second request is served, then GOAWAY sends the client to a new connection', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  const goaway = new Promise<boolean>((resolve) => {
    client.once('goaway', () => resolve(true));
    setTimeout(() => resolve(false), 3000);
  });
  assert.equal((await get(client, {})).status, 200);
  assert.equal((await get(client, {})).status, 200);
  assert.equal(await goaway, true);
  client.close();
});

test('a header list beyond maxRequestHeadersKb is refused, and the proxy goes on serving', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  const big = await get(client, { 'x-big': 'b'.repeat(10 * 1024) });
  assert.notEqual(big.status, 200, `refused (status ${big.status}, reset ${big.rstCode})`);
  client.destroy();
  const fresh = http2.connect(`http://127.0.0.1:${port}`);
  fresh.on('error', () => undefined);
  assert.equal((await get(fresh, { 'x-small': 's'.repeat(1024) })).status, 200);
  fresh.close();
  assert.ok(!upstream.requests.some((r) => r.headers['x-big'] !== undefined), 'the oversized request never reached the upstream');
});
