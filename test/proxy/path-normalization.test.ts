import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { normalizeRequestTarget } from '../../src/proxy/http/path-normalization.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { rawExchange } from '../support/raw-http.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

test('dot segments, encoded unreserved characters and fragments are normalized; the query is kept', () => {
  const cases: Array<[string, string]> = [
    ['/a/b', '/a/b'],
    ['/public/../admin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/%2E%2E/admin?x=../y', '/admin?x=../y'],
    ['/a/./b/.', '/a/b/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/%7euser/%41', '/a/~user/A'],
    ['/a%2fb/%3c', '/a%2Fb/%3C'],
    ['/x#frag', '/x'],
    ['/x?q=1#frag', '/x?q=1'],
    ['/a/..', '/'],
    ['*', '*'],
    // A backslash is a slash, as the URL canonicalizer Envoy normalizes with reads it.
    ['/public/..\\admin', '/admin'],
    ['/a\\b?q=\\', '/a/b?q=\\'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeRequestTarget(input, false), want, input);
  assert.equal(normalizeRequestTarget('//a///b', true), '/a/b');
  assert.equal(normalizeRequestTarget('//a///b', false), '//a///b');
});

let proxy: RunningProxy;
let upstream: TestUpstream;
let port: number;

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/admin' }, directResponse: { status: 403, body: { inlineString: 'forbidden\n' } } },
    { match: { prefix: '/' }, route: { cluster: 'app' } },
  ]);
  proxy = await startProxy(bootstrap([httpListener('ingress', port, routes)], [staticCluster('app', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

test('a route on /admin cannot be bypassed with dot segments or encoded dots', async () => {
  for (const path of ['/public/../admin', '/public/%2e%2e/admin/users', '/./admin']) {
    const text = await rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, (s) => s.includes('\r\n\r\n') && s.endsWith('\n'));
    assert.match(text, /^HTTP\/1\.1 403/, path);
  }
  const ok = await rawExchange(port, 'GET /docs/./guide HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', (s) => s.endsWith('}'));
  assert.match(ok, /^HTTP\/1\.1 200/);
  assert.equal(upstream.requests.at(-1)!.url, '/docs/guide', 'the upstream sees the normalized path');
});
