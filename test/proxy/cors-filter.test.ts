/**
 * Envoy's CORS filter, as Istio configures a VirtualService corsPolicy: the policy per route and per
 * virtual host (typedPerFilterConfig["envoy.filters.http.cors"]), the route's fields over its virtual
 * host's. A preflight from an allowed origin is answered by the proxy; an actual request's response
 * gets the Access-Control-Allow-* headers; a disallowed origin gets none.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { curl, type CurlResult } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { logLineStartingWith } from '../support/log-lines.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { scratchPath } from '../support/scratch-path.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const CORS_POLICY = 'type.googleapis.com/envoy.config.route.v3.CorsPolicy';
const cors = (policy: Record<string, unknown>) => ({ typedPerFilterConfig: { 'envoy.filters.http.cors': { '@type': CORS_POLICY, ...policy } } });
const HTTP_FILTERS = {
  httpFilters: [
    { name: 'envoy.filters.http.cors', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } },
    { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
  ],
};

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;
let withoutFilterPort: number;
const accessLog = scratchPath('cors-access.log');

before(async () => {
  upstream = await startUpstream('app', (req, res) => {
    // An upstream's own CORS answer is replaced by the policy's, as Envoy's setInline does.
    res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*', 'x-path': req.url! });
    res.end('from upstream');
  });
  port = await freePort();
  withoutFilterPort = await freePort();
  const deadPort = await freePort();
  const route = (prefix: string, extra: Record<string, unknown> = {}) => ({ match: { prefix }, route: { cluster: 'app' }, ...extra });
  const routes = {
    name: 'routes',
    virtualHosts: [
      {
        name: 'shop',
        domains: ['*'],
        ...cors({ allowOriginStringMatch: [{ exact: 'https://vh.example' }], allowMethods: 'GET,POST', allowHeaders: 'content-type', maxAge: '86400', exposeHeaders: 'x-vh' }),
        routes: [
          route('/api', { ...cors({
            allowOriginStringMatch: [{ exact: 'https://app.example' }, { safeRegex: { regex: 'https://[a-z]+\\.trusted\\.example' } }],
            allowMethods: 'GET,PUT',
            allowHeaders: 'authorization,content-type',
            exposeHeaders: 'x-request-id,x-total',
            maxAge: '600',
            allowCredentials: true,
            filterEnabled: { defaultValue: { numerator: 100, denominator: 'HUNDRED' } },
          }), responseHeadersToAdd: [{ header: { key: 'x-route', value: 'api' } }] }),
          route('/partial', cors({ allowOriginStringMatch: [{ prefix: 'https://partial.' }] })),
          route('/disabled', cors({ allowOriginStringMatch: [{ exact: 'https://app.example' }], filterEnabled: { defaultValue: { numerator: 0 } } })),
          route('/answer-all', cors({ allowOriginStringMatch: [{ exact: 'https://app.example' }], forwardNotMatchingPreflights: false })),
          route('/echo-request', cors({ allowOriginStringMatch: [{ safeRegex: { regex: '.*' } }], allowMethods: '*', allowHeaders: '*' })),
          { match: { prefix: '/down' }, route: { cluster: 'down' } },
          route('/'),
        ],
      },
      {
        // Envoy's deprecated fields, as older Istio wrote them: the route's cors over its virtual host's.
        name: 'legacy',
        domains: ['legacy.example'],
        cors: { allowOriginStringMatch: [{ suffix: '.legacy.example' }], allowMethods: 'GET', maxAge: '60' },
        routes: [
          { match: { prefix: '/own' }, route: { cluster: 'app', cors: { allowOriginStringMatch: [{ exact: 'https://own.example', ignoreCase: true }], allowMethods: 'DELETE' } } },
          route('/'),
        ],
      },
    ],
  };
  const logFormat = { textFormat: '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n' };
  proxy = await startProxy(bootstrap(
    [
      httpListener('cors', port, routes, { ...HTTP_FILTERS, accessLog: [{ typedConfig: { path: accessLog, logFormat } }] }),
      // The same routes on a connection manager without the CORS filter: Envoy applies no policy there.
      httpListener('plain', withoutFilterPort, routes),
    ],
    [staticCluster('app', [upstream.port]), staticCluster('down', [deadPort])],
  ));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

/** Sends a request and says whether it reached the upstream. */
async function send(flag: string, path: string, headers: Record<string, string>, method = 'GET', listenerPort = port): Promise<CurlResult & { forwarded: boolean }> {
  const before = upstream.requests.length;
  const args = [flag, '-X', method, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), `http://127.0.0.1:${listenerPort}${path}`];
  const r = await curl(args);
  return { ...r, forwarded: upstream.requests.length > before };
}

function preflight(flag: string, path: string, origin: string, extra: Record<string, string> = {}, listenerPort = port) {
  return send(flag, path, { origin, 'access-control-request-method': 'PUT', ...extra }, 'OPTIONS', listenerPort);
}

function corsHeaders(r: CurlResult): Record<string, string> {
  return Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.startsWith('access-control-')));
}

for (const [protocol, flag] of [['HTTP/1.1', '--http1.1'], ['HTTP/2', '--http2-prior-knowledge']] as const) {
  test(`${protocol}: a preflight from an allowed origin is answered by the proxy with the policy's headers`, async () => {
    const r = await preflight(flag, `/api/items?p=${protocol}`, 'https://app.example');
    assert.equal(r.status, 200);
    assert.equal(r.forwarded, false);
    assert.equal(r.body, '');
    assert.deepEqual(corsHeaders(r), {
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET,PUT',
      'access-control-allow-headers': 'authorization,content-type',
      'access-control-max-age': '600',
      'access-control-expose-headers': 'x-request-id,x-total',
    });
    // Envoy's filter encodes the answer itself: the route's response header edits are not made on it.
    assert.equal(r.headers['x-route'], undefined);
    const line = await logLineStartingWith(accessLog, `/api/items?p=${protocol} `);
    assert.equal(line, `/api/items?p=${protocol} 200 - cors_response`);
  });

  test(`${protocol}: a preflight from an origin not allowed goes on to the upstream, without CORS headers`, async () => {
    const r = await preflight(flag, '/api/items', 'https://evil.example');
    assert.equal(r.forwarded, true);
    assert.equal(r.body, 'from upstream');
    assert.deepEqual(corsHeaders(r), { 'access-control-allow-origin': '*' });
  });

  test(`${protocol}: forwardNotMatchingPreflights false answers a disallowed preflight locally, without Allow-Origin`, async () => {
    const r = await preflight(flag, '/answer-all', 'https://evil.example');
    assert.equal(r.status, 200);
    assert.equal(r.forwarded, false);
    // Methods, headers and max age are the virtual host's: the route's policy sets only origins.
    assert.deepEqual(corsHeaders(r), { 'access-control-allow-methods': 'GET,POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '86400' });
  });

  test(`${protocol}: an actual request from an allowed origin gets the origin, credentials and exposed headers`, async () => {
    const r = await send(flag, '/api/items', { origin: 'https://app.example' });
    assert.equal(r.forwarded, true);
    assert.equal(r.body, 'from upstream');
    assert.equal(r.headers['x-route'], 'api');
    assert.deepEqual(corsHeaders(r), {
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id,x-total',
    });
  });

  test(`${protocol}: the proxy's own error reply to an allowed origin carries the CORS headers too`, async () => {
    const r = await send(flag, '/down', { origin: 'https://vh.example' });
    assert.equal(r.status, 503);
    assert.deepEqual(corsHeaders(r), { 'access-control-allow-origin': 'https://vh.example', 'access-control-expose-headers': 'x-vh' });
  });

  test(`${protocol}: an actual request from an origin not allowed gets no CORS headers from the proxy`, async () => {
    const r = await send(flag, '/api/items', { origin: 'https://evil.example' });
    assert.equal(r.forwarded, true);
    assert.deepEqual(corsHeaders(r), { 'access-control-allow-origin': '*' });
  });

  test(`${protocol}: a safe_regex origin matches the whole Origin`, async () => {
    assert.equal((await send(flag, '/api', { origin: 'https://shop.trusted.example' })).headers['access-control-allow-origin'], 'https://shop.trusted.example');
    assert.equal((await send(flag, '/api', { origin: 'https://shop.trusted.example.evil' })).headers['access-control-allow-origin'], '*');
    const r = await preflight(flag, '/api', 'https://shop.trusted.example');
    assert.equal(r.forwarded, false);
    assert.equal(r.headers['access-control-allow-origin'], 'https://shop.trusted.example');
  });

  test(`${protocol}: a route's policy overrides its virtual host's field by field`, async () => {
    // /partial sets only origins: the virtual host's origin is not allowed there, its methods and max age are used.
    const own = await preflight(flag, '/partial', 'https://partial.example');
    assert.equal(own.forwarded, false);
    assert.deepEqual(corsHeaders(own), {
      'access-control-allow-origin': 'https://partial.example',
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'content-type',
      'access-control-max-age': '86400',
      'access-control-expose-headers': 'x-vh',
    });
    assert.equal((await preflight(flag, '/partial', 'https://vh.example')).forwarded, true);
    // A route without a policy has its virtual host's.
    const vh = await send(flag, '/other', { origin: 'https://vh.example' });
    assert.deepEqual(corsHeaders(vh), { 'access-control-allow-origin': 'https://vh.example', 'access-control-expose-headers': 'x-vh' });
  });

  test(`${protocol}: allowMethods and allowHeaders "*" answer with what the preflight asked for`, async () => {
    const r = await preflight(flag, '/echo-request', 'https://any.example', { 'access-control-request-headers': 'x-one,x-two' });
    assert.equal(r.forwarded, false);
    assert.equal(r.headers['access-control-allow-methods'], 'PUT');
    assert.equal(r.headers['access-control-allow-headers'], 'x-one,x-two');
  });

  test(`${protocol}: filterEnabled 0% turns the policy off: preflights are forwarded and responses untouched`, async () => {
    const r = await preflight(flag, '/disabled', 'https://app.example');
    assert.equal(r.forwarded, true);
    assert.deepEqual(corsHeaders(r), { 'access-control-allow-origin': '*' });
  });

  test(`${protocol}: a request without Origin, and a connection manager without the CORS filter, get no CORS handling`, async () => {
    const plain = await send(flag, '/api/items', {});
    assert.deepEqual(corsHeaders(plain), { 'access-control-allow-origin': '*' });
    const noFilter = await preflight(flag, '/api/items', 'https://app.example', {}, withoutFilterPort);
    assert.equal(noFilter.forwarded, true);
    assert.deepEqual(corsHeaders(noFilter), { 'access-control-allow-origin': '*' });
  });
}

test("the deprecated route.cors and virtual host cors fields apply when no typed per-filter policy is set", async () => {
  const own = await send('--http1.1', '/own', { host: 'legacy.example', origin: 'HTTPS://OWN.example', 'access-control-request-method': 'DELETE' }, 'OPTIONS');
  assert.equal(own.forwarded, false);
  assert.deepEqual(corsHeaders(own), { 'access-control-allow-origin': 'HTTPS://OWN.example', 'access-control-allow-methods': 'DELETE', 'access-control-max-age': '60' });
  const vh = await send('--http2-prior-knowledge', '/else', { host: 'legacy.example', origin: 'https://a.legacy.example' });
  assert.equal(vh.forwarded, true);
  assert.equal(vh.headers['access-control-allow-origin'], 'https://a.legacy.example');
});

test('the config dump prints each policy where Envoy has it, as a typed CorsPolicy', async () => {
  const r = await curl([`http://127.0.0.1:${proxy.adminPort}/config_dump`]);
  const configs = (JSON.parse(r.body) as { configs: Array<Record<string, any>> }).configs;
  const listener = configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump'))!.static_listeners[0].listener;
  const [shop, legacy] = listener.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts;
  assert.deepEqual(shop.routes[0].typed_per_filter_config['envoy.filters.http.cors'], {
    '@type': CORS_POLICY,
    allow_origin_string_match: [{ exact: 'https://app.example' }, { safe_regex: { regex: 'https://[a-z]+\\.trusted\\.example' } }],
    allow_methods: 'GET,PUT',
    allow_headers: 'authorization,content-type',
    expose_headers: 'x-request-id,x-total',
    max_age: '600',
    allow_credentials: true,
    filter_enabled: { default_value: { numerator: 100 } },
  });
  assert.equal(shop.typed_per_filter_config['envoy.filters.http.cors'].max_age, '86400');
  assert.equal(shop.routes[3].typed_per_filter_config['envoy.filters.http.cors'].forward_not_matching_preflights, false);
  assert.deepEqual(legacy.cors, { allow_origin_string_match: [{ suffix: '.legacy.example' }], allow_methods: 'GET', max_age: '60' });
  assert.deepEqual(legacy.routes[0].route.cors, { allow_origin_string_match: [{ exact: 'https://own.example', ignore_case: true }], allow_methods: 'DELETE' });
});
