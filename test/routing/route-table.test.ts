import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FieldReader } from '../../src/config/field-reader.js';
import { readRouteConfiguration } from '../../src/config/route-reader.js';
import type { RequestHead } from '../../src/proxy/http/request-head.js';
import { createRegexEngine } from '../../src/proxy/routing/regex-engine-registry.js';
import type { RegexEngine, RegexSet } from '../../src/proxy/routing/regex-engine.js';
import { compileRouteTable, type RouteTable } from '../../src/proxy/routing/route-table.js';

const re2 = createRegexEngine('re2');

function table(rc: object, engine: RegexEngine = re2): RouteTable {
  return compileRouteTable(readRouteConfiguration(FieldReader.of({ name: 'rc', ...rc }, 'test.yaml', 'rc', '')), engine);
}

function req(path: string, authority = 'svc', headers: string[] = [], method = 'GET'): RequestHead {
  return { method, path, authority, scheme: 'http', headers, remoteAddress: '10.0.0.1' };
}

const one = (routes: object[], extra: object = {}): RouteTable => table({ virtualHosts: [{ name: 'vh', domains: ['*'], routes, ...extra }] });
const to = (cluster: string): object => ({ cluster });

test('virtual hosts: exact beats suffix beats prefix beats "*", with or without the port', () => {
  const t = table({
    virtualHosts: [
      { name: 'any', domains: ['*'], routes: [{ match: { prefix: '/' }, route: to('any') }] },
      { name: 'prefix', domains: ['api.*'], routes: [{ match: { prefix: '/' }, route: to('prefix') }] },
      { name: 'short', domains: ['*.com'], routes: [{ match: { prefix: '/' }, route: to('short') }] },
      { name: 'suffix', domains: ['*.example.com'], routes: [{ match: { prefix: '/' }, route: to('suffix') }] },
      { name: 'exact', domains: ['api.example.com', 'ported.example.com:8080'], routes: [{ match: { prefix: '/' }, route: to('exact') }] },
    ],
  });
  const cluster = (host: string): string => t.match(req('/', host))!.pickCluster(0);
  assert.equal(cluster('api.example.com'), 'exact');
  assert.equal(cluster('API.Example.com:443'), 'exact');
  assert.equal(cluster('ported.example.com:8080'), 'exact');
  assert.equal(cluster('ported.example.com:9090'), 'suffix');
  assert.equal(cluster('www.example.com'), 'suffix');
  assert.equal(cluster('www.other.com'), 'short');
  assert.equal(cluster('api.local'), 'prefix');
  assert.equal(cluster('[::1]:80'), 'any');
  assert.equal(cluster('example.com'), 'short');
});

test('no "*" host means unknown hosts get no route', () => {
  const t = table({ virtualHosts: [{ name: 'a', domains: ['a.test'], routes: [{ match: { prefix: '/' }, route: to('a') }] }] });
  assert.equal(t.match(req('/', 'b.test')), undefined);
  assert.ok(t.match(req('/', 'a.test:80')));
});

test('path matchers: exact, prefix, path-separated prefix, regex (full match), query ignored', () => {
  const t = one([
    { name: 'exact', match: { path: '/health' }, route: to('e') },
    { name: 'sep', match: { pathSeparatedPrefix: '/api' }, route: to('s') },
    { name: 'regex', match: { safeRegex: { regex: '/items/[0-9]+' } }, route: to('r') },
    { name: 'prefix', match: { prefix: '/static/' }, route: to('p') },
  ]);
  const name = (p: string): string | undefined => t.match(req(p))?.name;
  assert.equal(name('/health'), 'exact');
  assert.equal(name('/health?x=1'), 'exact');
  assert.equal(name('/health/x'), undefined);
  assert.equal(name('/api'), 'sep');
  assert.equal(name('/api/v1'), 'sep');
  assert.equal(name('/api?x'), 'sep');
  assert.equal(name('/apix'), undefined);
  assert.equal(name('/items/42'), 'regex');
  assert.equal(name('/items/42?q=/x'), 'regex');
  assert.equal(name('/items/42/more'), undefined);
  assert.equal(name('/static/app.js'), 'prefix');
});

test('first match wins and caseSensitive: false folds the path', () => {
  const t = one([
    { name: 'ci', match: { prefix: '/Docs', caseSensitive: false }, route: to('a') },
    { name: 'catch', match: { prefix: '/' }, route: to('b') },
    { name: 'never', match: { prefix: '/docs' }, route: to('c') },
  ]);
  assert.equal(t.match(req('/DOCS/x'))!.name, 'ci');
  assert.equal(t.match(req('/docs'))!.name, 'ci');
  assert.equal(t.match(req('/other'))!.name, 'catch');
});

test('header matchers: exact, prefix, regex, present, invert, ignoreCase, pseudo-headers, repeated values', () => {
  const t = one([
    { name: 'exact', match: { prefix: '/', headers: [{ name: 'x-env', stringMatch: { exact: 'canary' } }] }, route: to('a') },
    { name: 'prefix', match: { prefix: '/', headers: [{ name: 'user-agent', stringMatch: { prefix: 'curl/' } }] }, route: to('a') },
    { name: 'regex', match: { prefix: '/', headers: [{ name: 'x-user', stringMatch: { safeRegex: { regex: 'u[0-9]{3}' } } }] }, route: to('a') },
    { name: 'icase', match: { prefix: '/', headers: [{ name: 'x-mode', stringMatch: { exact: 'FAST', ignoreCase: true } }] }, route: to('a') },
    { name: 'method', match: { prefix: '/', headers: [{ name: ':method', stringMatch: { exact: 'DELETE' } }] }, route: to('a') },
    { name: 'joined', match: { prefix: '/', headers: [{ name: 'x-tag', stringMatch: { exact: 'a,b' } }] }, route: to('a') },
    { name: 'absent', match: { prefix: '/', headers: [{ name: 'x-debug', presentMatch: false }, { name: 'x-internal', stringMatch: { exact: 'yes' }, invertMatch: true }] }, route: to('a') },
    { name: 'rest', match: { prefix: '/' }, route: to('b') },
  ]);
  const name = (headers: string[], method = 'GET'): string => t.match(req('/', 'svc', headers, method))!.name;
  assert.equal(name(['x-env', 'canary', 'x-debug', '1']), 'exact');
  assert.equal(name(['user-agent', 'curl/8.0', 'x-debug', '1']), 'prefix');
  assert.equal(name(['x-user', 'u123', 'x-debug', '1']), 'regex');
  assert.equal(name(['x-user', 'u1234', 'x-debug', '1']), 'rest');
  assert.equal(name(['x-mode', 'fast', 'x-debug', '1']), 'icase');
  assert.equal(name(['x-debug', '1'], 'DELETE'), 'method');
  assert.equal(name(['x-tag', 'a', 'x-tag', 'b', 'x-debug', '1']), 'joined');
  assert.equal(name([]), 'absent');
  assert.equal(name(['x-internal', 'no']), 'absent');
  assert.equal(name(['x-internal', 'yes']), 'rest');
});

test('query parameter matchers: exact, regex, present; values are percent-decoded', () => {
  const t = one([
    { name: 'v2', match: { prefix: '/', queryParameters: [{ name: 'v', stringMatch: { exact: '2' } }] }, route: to('a') },
    { name: 'q', match: { prefix: '/', queryParameters: [{ name: 'q', stringMatch: { safeRegex: { regex: 'hello world' } } }] }, route: to('a') },
    { name: 'debug', match: { prefix: '/', queryParameters: [{ name: 'debug', presentMatch: true }] }, route: to('a') },
    { name: 'rest', match: { prefix: '/' }, route: to('b') },
  ]);
  const name = (p: string): string => t.match(req(p))!.name;
  assert.equal(name('/x?a=1&v=2'), 'v2');
  assert.equal(name('/x?v=22'), 'rest');
  assert.equal(name('/x?q=hello%20world'), 'q');
  assert.equal(name('/x?q=hello+world'), 'q');
  assert.equal(name('/x?debug'), 'debug');
  assert.equal(name('/x?q=%E0%A4%A'), 'rest');
});

test('weighted clusters split by weight', () => {
  const t = one([{ match: { prefix: '/' }, route: { weightedClusters: { clusters: [{ name: 'a', weight: 90 }, { name: 'b', weight: 10 }] } } }]);
  const r = t.match(req('/'))!;
  assert.equal(r.pickCluster(0), 'a');
  assert.equal(r.pickCluster(0.899), 'a');
  assert.equal(r.pickCluster(0.9), 'b');
  assert.equal(r.pickCluster(0.999), 'b');
});

test('rewrites: prefix keeps the rest and the query; regex uses \\1 captures; host literal', () => {
  const t = one([
    { name: 'p', match: { prefix: '/api/' }, route: { cluster: 'a', prefixRewrite: '/v1/', hostRewriteLiteral: 'internal' } },
    { name: 'r', match: { safeRegex: { regex: '/u/([a-z]+)/([0-9]+)' } }, route: { cluster: 'a', regexRewrite: { pattern: { regex: '^/u/([a-z]+)/([0-9]+)$' }, substitution: '/users/\\2/\\1' } } },
    { name: 'dollar', match: { prefix: '/d' }, route: { cluster: 'a', regexRewrite: { pattern: { regex: 'd' }, substitution: '$1x' } } },
  ]);
  const p = t.match(req('/api/items?x=1'))!;
  assert.equal(p.rewritePath('/api/items?x=1'), '/v1/items?x=1');
  assert.equal(p.hostRewrite, 'internal');
  const r = t.match(req('/u/bob/7?z'))!;
  assert.equal(r.rewritePath('/u/bob/7?z'), '/users/7/bob?z');
  assert.equal(t.match(req('/d'))!.rewritePath('/d'), '/$1x');
});

test('redirects: https strips the port, prefix rewrite, port, path, strip query', () => {
  const t = one([
    { name: 'https', match: { prefix: '/secure' }, redirect: { httpsRedirect: true } },
    { name: 'prefix', match: { prefix: '/old/' }, redirect: { prefixRewrite: '/new/', responseCode: 'PERMANENT_REDIRECT' } },
    { name: 'port', match: { prefix: '/port' }, redirect: { hostRedirect: 'other.test', portRedirect: 9443, stripQuery: true } },
    { name: 'path', match: { prefix: '/path' }, redirect: { pathRedirect: '/landing' } },
  ]);
  const loc = (p: string, host = 'shop.test:8080'): string => t.match(req(p, host))!.redirectLocation(req(p, host));
  assert.equal(loc('/secure/x?a=1'), 'https://shop.test/secure/x?a=1');
  assert.equal(loc('/old/page?q=1'), 'http://shop.test:8080/new/page?q=1');
  assert.equal(t.match(req('/old/x'))!.route.redirect!.responseCode, 308);
  assert.equal(loc('/port?q=1'), 'http://other.test:9443/port');
  assert.equal(loc('/path?keep=1'), 'http://shop.test:8080/landing?keep=1');
});

test('header edits apply route, then virtual host, then route configuration, removals first', () => {
  const t = table({
    requestHeadersToAdd: [{ header: { key: 'x-level', value: 'config' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    responseHeadersToRemove: ['server'],
    virtualHosts: [
      {
        name: 'vh',
        domains: ['*'],
        requestHeadersToAdd: [{ header: { key: 'x-level', value: 'vhost' } }, { header: { key: 'x-once', value: 'vh' }, appendAction: 'ADD_IF_ABSENT' }],
        routes: [
          {
            match: { prefix: '/' },
            route: to('a'),
            requestHeadersToRemove: ['x-secret'],
            requestHeadersToAdd: [{ header: { key: 'X-Route', value: 'r1' } }, { header: { key: 'x-once', value: 'route' }, appendAction: 'ADD_IF_ABSENT' }],
            responseHeadersToAdd: [{ header: { key: 'x-served-by', value: 'bulwark' } }],
          },
        ],
      },
    ],
  });
  const head = req('/', 'svc', ['x-secret', 's', 'x-level', 'client', 'accept', '*/*']);
  const r = t.match(head)!;
  const h = [...head.headers];
  const source = { templateRecord: () => ({}), requestHeaders: head.headers };
  r.applyRequestHeaders(h, source);
  assert.deepEqual(h, ['accept', '*/*', 'x-route', 'r1', 'x-once', 'route', 'x-level', 'config']);
  const resp = ['server', 'upstream', 'content-type', 'text/plain'];
  r.applyResponseHeaders(resp, source);
  assert.deepEqual(resp, ['content-type', 'text/plain', 'x-served-by', 'bulwark']);
});

test('a scanning engine is asked once per request for all path regexes of a virtual host', () => {
  let scans = 0;
  let tests = 0;
  const scanning: RegexEngine = {
    name: 'scanning',
    compile(patterns) {
      const inner = re2.compile(patterns);
      const set: RegexSet = {
        size: inner.size,
        prefersScan: true,
        test: (id, s) => (tests++, inner.test(id, s)),
        scan: (s, out) => (scans++, inner.scan(s, out)),
      };
      return set;
    },
  };
  const t = table(
    {
      virtualHosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            { name: 'a', match: { safeRegex: { regex: '/a/.*' } }, route: to('a') },
            { name: 'b', match: { safeRegex: { regex: '/b/[0-9]+' } }, route: to('b') },
            { name: 'c', match: { safeRegex: { regex: '/(a|b)/x' } }, route: to('c') },
          ],
        },
      ],
    },
    scanning,
  );
  assert.equal(t.match(req('/b/12'))!.name, 'b');
  assert.equal(t.match(req('/b/x'))!.name, 'c');
  assert.equal(t.match(req('/zzz')), undefined);
  assert.equal(scans, 3);
  assert.equal(tests, 0);
});

test('hostile Host headers do not grow the host cache without bound', () => {
  const t = one([{ match: { prefix: '/' }, route: to('a') }]);
  for (let i = 0; i < 10_000; i++) assert.ok(t.match(req('/', `h${i}.test`)));
  const cache = (t as unknown as { hostCache: Map<string, unknown> }).hostCache;
  assert.ok(cache.size <= 4096);
});

test('match.grpc (Envoy\'s grpc-bridge example): only a gRPC request matches, whatever its content-type suffix; grpc-web and others fall through', () => {
  const t = one([
    { name: 'grpc', match: { prefix: '/', grpc: {} }, route: to('grpc') },
    { name: 'other', match: { prefix: '/' }, route: to('other') },
  ]);
  const name = (type: string | undefined): string | undefined => t.match(req('/kv.KV/Get', 'svc', type === undefined ? [] : ['content-type', type], 'POST'))?.name;
  assert.equal(name('application/grpc'), 'grpc');
  assert.equal(name('application/grpc+proto'), 'grpc');
  assert.equal(name('application/grpc-web'), 'other');
  assert.equal(name('application/json'), 'other');
  assert.equal(name(undefined), 'other');
});
