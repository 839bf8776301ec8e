/**
 * An HTTP/1.1 upgrade the connection manager has no upgradeConfigs entry for is refused as Envoy
 * refuses it: 403 with response code details upgrade_failed, and the connection ends (what the client
 * sends next may be the upgraded protocol, never a next request). The upstream never sees it. The
 * h2c upgrade that `curl --http2` offers over cleartext is the exception: served as HTTP/1.1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { rawExchange } from '../support/raw-http.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const accessLog = join(mkdtempSync(join(tmpdir(), 'bulwark-upgrade-refused-')), 'access.log');
let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  proxy = await startProxy(
    bootstrap([httpListener('h', port, routeConfig([
      { match: { prefix: '/local' }, directResponse: { status: 200, body: { inlineString: 'local' } } },
      { match: { prefix: '/' }, route: { cluster: 'app' } },
    ]), { accessLog: [{ typedConfig: { path: accessLog } }] })], [staticCluster('app', [upstream.port])]),
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

test('a WebSocket upgrade on a connection manager without upgradeConfigs gets 403 upgrade_failed and the connection ends', async () => {
  const before = upstream.requests.length;
  const reply = await rawExchange(
    port,
    'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n' +
      'GET /next HTTP/1.1\r\nHost: a\r\n\r\n',
    () => false,
    3000,
  );
  assert.match(reply, /^HTTP\/1\.1 403 /);
  assert.match(reply, /\r\nconnection: close\r\n/i);
  assert.equal(reply.match(/HTTP\/1\.1 /g)?.length, 1, 'nothing after the refusal was served as a request');
  assert.equal(upstream.requests.length, before, 'the upstream never saw it');
  await sleep(300);
  const line = readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.path === '/ws');
  assert.equal(line?.response_code, 403);
  assert.equal(line?.response_code_details, 'upgrade_failed');
});

test('a request pipelined behind one whose local reply ends the connection never reaches the upstream', async () => {
  const before = upstream.requests.length;
  const reply = await rawExchange(port, 'GET /local HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /after-close HTTP/1.1\r\nHost: a\r\n\r\n', () => false, 2000);
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.equal(reply.match(/HTTP\/1\.1 /g)?.length, 1);
  await sleep(200);
  assert.equal(upstream.requests.length, before, `the upstream got ${upstream.requests.slice(before).map((r) => r.url).join(', ')}`);
});

test('curl --http2 over cleartext (an h2c upgrade) is served as HTTP/1.1', async () => {
  const r = await curl(['--http2', `http://127.0.0.1:${port}/h2c`]);
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { headers: Record<string, string> };
  assert.equal(seen.headers.upgrade, undefined);
  assert.equal(seen.headers['http2-settings'], undefined);
});

test('a request without upgrade headers is untouched', async () => {
  const r = await curl([`http://127.0.0.1:${port}/plain`]);
  assert.equal(r.status, 200);
});
