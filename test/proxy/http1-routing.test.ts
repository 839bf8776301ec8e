import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { rawExchange } from '../support/raw-http.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let a: TestUpstream;
let b: TestUpstream;
let proxy: RunningProxy;
let port: number;
const url = (path: string) => `http://127.0.0.1:${port}${path}`;

before(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  port = await freePort();
  const routes = {
    name: 'routes',
    responseHeadersToAdd: [{ header: { key: 'x-served-by', value: 'bulwark-test' } }],
    virtualHosts: [
      {
        name: 'shop',
        domains: ['shop.example.com', '*.shop.example.com'],
        routes: [{ match: { prefix: '/' }, route: { cluster: 'b' } }],
      },
      {
        name: 'default',
        domains: ['*'],
        routes: [
          { name: 'exact', match: { path: '/exact' }, route: { cluster: 'b' } },
          { name: 'regex', match: { safeRegex: { regex: '/items/[0-9]+' } }, route: { cluster: 'b', regexRewrite: { pattern: { regex: '^/items/([0-9]+)$' }, substitution: '/catalog/\\1' } } },
          { name: 'canary', match: { prefix: '/api/', headers: [{ name: 'x-canary', stringMatch: { exact: 'yes' } }] }, route: { cluster: 'b' } },
          { name: 'query', match: { prefix: '/api/', queryParameters: [{ name: 'v', stringMatch: { exact: '2' } }] }, route: { cluster: 'b' } },
          {
            name: 'api',
            match: { prefix: '/api/' },
            route: { cluster: 'a', prefixRewrite: '/v1/', hostRewriteLiteral: 'internal.api' },
            requestHeadersToAdd: [{ header: { key: 'x-route', value: 'api' } }],
            requestHeadersToRemove: ['x-secret'],
            responseHeadersToRemove: ['x-upstream'],
          },
          { name: 'old', match: { prefix: '/old/' }, redirect: { prefixRewrite: '/new/', responseCode: 'PERMANENT_REDIRECT' } },
          { name: 'https', match: { prefix: '/secure' }, redirect: { httpsRedirect: true } },
          { name: 'teapot', match: { path: '/teapot' }, directResponse: { status: 418, body: { inlineString: 'short and stout\n' } } },
          { name: 'split', match: { prefix: '/split' }, route: { weightedClusters: { clusters: [{ name: 'a', weight: 50 }, { name: 'b', weight: 50 }] } } },
        ],
      },
    ],
  };
  proxy = await startProxy(bootstrap([httpListener('ingress', port, routes)], [staticCluster('a', [a.port]), staticCluster('b', [b.port])]));
});

after(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
});

test('a prefix route forwards to its cluster with the prefix rewritten and the host replaced', async () => {
  const r = await curl([url('/api/orders?x=1')]);
  assert.equal(r.status, 200);
  const echo = JSON.parse(r.body);
  assert.equal(echo.upstream, 'a');
  assert.equal(echo.url, '/v1/orders?x=1');
  assert.equal(echo.headers.host, 'internal.api');
  assert.equal(echo.headers['x-route'], 'api');
});

test('configured request and response headers are removed, and hop-by-hop headers never pass', async () => {
  const r = await curl(['-H', 'x-secret: s3cr3t', '-H', 'Connection: keep-alive, x-hop', '-H', 'x-hop: 1', '-H', 'Keep-Alive: timeout=5', url('/api/x')]);
  const echo = JSON.parse(r.body);
  assert.equal(echo.headers['x-secret'], undefined);
  assert.equal(echo.headers['x-hop'], undefined);
  assert.equal(echo.headers['keep-alive'], undefined);
  assert.equal(r.headers['x-upstream'], undefined);
  assert.equal(r.headers['x-served-by'], 'bulwark-test');
});

test('x-forwarded-for, x-forwarded-proto and x-request-id are set for the upstream', async () => {
  const r = await curl(['-H', 'x-forwarded-for: 203.0.113.9', url('/api/x')]);
  const echo = JSON.parse(r.body);
  assert.equal(echo.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(echo.headers['x-forwarded-proto'], 'http');
  assert.match(echo.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  assert.match(echo.headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
});

test('an incoming x-request-id is preserved', async () => {
  const r = await curl(['-H', 'x-request-id: abc-123', url('/api/x')]);
  assert.equal(JSON.parse(r.body).headers['x-request-id'], 'abc-123');
});

test('header, query, exact and regex matches pick their routes; first match wins', async () => {
  assert.equal(JSON.parse((await curl(['-H', 'x-canary: yes', url('/api/x')])).body).upstream, 'b');
  assert.equal(JSON.parse((await curl([url('/api/x?v=2')])).body).upstream, 'b');
  assert.equal(JSON.parse((await curl([url('/exact')])).body).upstream, 'b');
  assert.equal((await curl([url('/exact/more')])).status, 404);
  const re = JSON.parse((await curl([url('/items/42')])).body);
  assert.equal(re.upstream, 'b');
  assert.equal(re.url, '/catalog/42');
  assert.equal((await curl([url('/items/4x2')])).status, 404);
});

test('virtual hosts are chosen by Host, exact and wildcard, ignoring the port', async () => {
  assert.equal(JSON.parse((await curl(['-H', 'Host: shop.example.com', url('/anything')])).body).upstream, 'b');
  assert.equal(JSON.parse((await curl(['-H', 'Host: eu.shop.example.com:8443', url('/anything')])).body).upstream, 'b');
  assert.equal((await curl(['-H', 'Host: other.example.com', url('/anything')])).status, 404);
});

test('redirects and direct responses are answered by the proxy', async () => {
  const r = await curl([url('/old/page?q=1')]);
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, `http://127.0.0.1:${port}/new/page?q=1`);
  const s = await curl(['-H', 'Host: example.com', url('/secure')]);
  assert.equal(s.status, 301);
  assert.equal(s.headers.location, 'https://example.com/secure');
  const t = await curl([url('/teapot')]);
  assert.equal(t.status, 418);
  assert.equal(t.body, 'short and stout\n');
});

test('weighted clusters split traffic between both', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(JSON.parse((await curl([url('/split')])).body).upstream);
  assert.deepEqual([...seen].sort(), ['a', 'b']);
});

test('request bodies stream through, Content-Length and chunked alike', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'bulwark-body-')), 'big.txt');
  writeFileSync(file, 'x'.repeat(3 * 1024 * 1024));
  const r = await curl(['--data-binary', `@${file}`, '-H', 'content-type: text/plain', url('/api/upload')]);
  assert.equal(JSON.parse(r.body).body.length, 3 * 1024 * 1024);
  const c = await curl(['-H', 'Transfer-Encoding: chunked', '--data-binary', 'hello chunks', url('/api/upload')]);
  assert.equal(JSON.parse(c.body).body, 'hello chunks');
});

test('keep-alive: many requests on one client connection', async () => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile('curl', ['-s', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', '-w', '%{http_code}/%{num_connects} ', url('/api/1'), url('/api/2'), url('/api/3')], (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  assert.equal(out.trim(), '200/1 200/0 200/0');
});

test('pipelined requests on one connection are answered in order', async () => {
  const raw = ['/api/p1', '/exact', '/teapot', '/api/p2'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
  // The last response ends with its JSON body, or with the last chunk when it comes chunked.
  const text = await rawExchange(port, raw, (s) => (s.match(/HTTP\/1\.1 /g) ?? []).length >= 4 && /(\}|\r\n0\r\n\r\n)$/.test(s));
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 200, 418, 200]);
  assert.ok(text.indexOf('/v1/p1') < text.indexOf('/v1/p2'));
});

test('an unknown path gets 404 from the proxy, and the access log records why', async () => {
  const r = await curl([url('/no/such/route')]);
  assert.equal(r.status, 404);
});
