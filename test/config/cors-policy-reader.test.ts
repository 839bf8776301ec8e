import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import type { VirtualHost } from '../../src/model/route.js';
import { refusalsOf } from '../support/config-refusals.js';

const FILE = 'gateway.yaml';

/** A bootstrap whose one route carries `routeExtra` (YAML flow fields) and its virtual host `vhExtra`. */
function config(routeExtra: string, vhExtra = ''): string {
  return `
node: { id: gw }
staticResources:
  listeners:
  - name: ingress
    address: { socketAddress: { address: 127.0.0.1, portValue: 8080 } }
    filterChains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typedConfig:
          statPrefix: ingress
          httpFilters:
          - { name: envoy.filters.http.fault, typedConfig: { "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault } }
          - { name: envoy.filters.http.cors, typedConfig: { "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors } }
          - { name: envoy.filters.http.router }
          routeConfig:
            virtualHosts:
            - { name: vh, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: app } ${routeExtra} }] ${vhExtra} }
  clusters:
  - name: app
    loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: 127.0.0.1, portValue: 9000 } } } }] }] }
`;
}

function virtualHost(yaml: string): VirtualHost {
  const hcm = parseBootstrap(yaml, FILE).staticResources.listeners[0]!.filterChains[0]!.filters[0]!;
  assert.equal(hcm.name, 'envoy.filters.network.http_connection_manager');
  return hcm.name === 'envoy.filters.network.http_connection_manager' ? hcm.typedConfig.routeConfig!.virtualHosts[0]! : assert.fail();
}

function errorsOf(yaml: string): string[] {
  return refusalsOf(yaml, FILE);
}

const perFilter = (policy: string) => `, typedPerFilterConfig: { envoy.filters.http.cors: { "@type": type.googleapis.com/envoy.config.route.v3.CorsPolicy, ${policy} } }`;

test("Istio's translation of a VirtualService corsPolicy loads, snake_case as Istio sends it", () => {
  const istio = perFilter(
    'allow_origin_string_match: [{ exact: "https://a.example" }, { safe_regex: { regex: "https://.*\\\\.b\\\\.example" } }], allow_methods: "GET,POST", ' +
      'allow_headers: "content-type", expose_headers: "x-total", max_age: "86400", allow_credentials: true, ' +
      'filter_enabled: { default_value: { numerator: 100, denominator: HUNDRED } }, forward_not_matching_preflights: false',
  );
  const vh = virtualHost(config(istio));
  assert.deepEqual(vh.routes[0]!.corsPolicy, {
    allowOriginStringMatch: [{ exact: 'https://a.example', prefix: undefined, suffix: undefined, contains: undefined, ignoreCase: false }, { exact: undefined, prefix: undefined, suffix: undefined, contains: undefined, ignoreCase: false, safeRegex: { regex: 'https://.*\\.b\\.example' } }],
    allowMethods: 'GET,POST',
    allowHeaders: 'content-type',
    exposeHeaders: 'x-total',
    maxAge: '86400',
    allowCredentials: true,
    allowPrivateNetworkAccess: undefined,
    forwardNotMatchingPreflights: false,
    filterEnabled: { numerator: 100, denominator: 100 },
    shadowEnabled: undefined,
  });
});

test('the virtual host policy and the deprecated cors fields load where Envoy reads them', () => {
  const vh = virtualHost(config('', `${perFilter('max_age: "5"')}, cors: { allowMethods: GET }`));
  assert.equal(vh.corsPolicy!.maxAge, '5');
  assert.equal(vh.cors!.allowMethods, 'GET');
  const legacy = virtualHost(config('').replace('route: { cluster: app }', 'route: { cluster: app, cors: { allowHeaders: x-a, shadowEnabled: { defaultValue: { numerator: 5, denominator: MILLION } } } }'));
  assert.deepEqual(legacy.routes[0]!.route!.cors!.shadowEnabled, { numerator: 5, denominator: 1_000_000 });
});

test('what the CORS filter would not apply is refused, naming the field', () => {
  assert.match(errorsOf(config(perFilter('filterEnabled: { defaultValue: { numerator: 50 }, runtimeKey: cors.enabled }')))[0]!, /typedPerFilterConfig\.envoy\.filters\.http\.cors\.filterEnabled\.runtimeKey: runtime overrides are not supported/);
  // Envoy v2's allow_origin is gone from v3: it must not load as if it allowed an origin.
  assert.match(errorsOf(config(perFilter('allowOrigin: ["*"]')))[0]!, /typedPerFilterConfig\.envoy\.filters\.http\.cors\.allowOrigin: unknown field/);
  assert.match(errorsOf(config(', typedPerFilterConfig: { envoy.filters.http.cors: { "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors } }'))[0]!, /envoy\.filters\.http\.cors\.@type: the CORS filter's per-route config must be type\.googleapis\.com\/envoy\.config\.route\.v3\.CorsPolicy, not envoy\.extensions\.filters\.http\.cors\.v3\.Cors/);
  assert.match(errorsOf(config(perFilter('allowHeaders: "a\\r\\nset-cookie: x"')))[0]!, /cors\.allowHeaders: must not contain CR, LF or NUL/);
  assert.match(errorsOf(config(perFilter('allowOriginStringMatch: [{ exact: a, prefix: b }]')))[0]!, /allowOriginStringMatch\[0\]: exactly one of exact, prefix, suffix, contains, safeRegex is required/);
  assert.match(errorsOf(config('', ', cors: { filterEnabled: { defaultValue: { numerator: 1, denominator: THOUSAND } } }'))[0]!, /virtualHosts\[0\]\.cors\.filterEnabled\.defaultValue\.denominator: must be one of HUNDRED, TEN_THOUSAND, MILLION/);
  // Another filter's per-route config is still refused: that filter does not run here.
  assert.match(errorsOf(config(', typedPerFilterConfig: { envoy.filters.http.rbac: { rules: {} } }'))[0]!, /typedPerFilterConfig\.envoy\.filters\.http\.rbac: per-route config for envoy\.filters\.http\.rbac is not supported/);
});

test('one typedPerFilterConfig carries a fault and a CORS policy, as Istio writes a VirtualService with both', () => {
  const both =
    ', typedPerFilterConfig: { envoy.filters.http.fault: { "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault, abort: { http_status: 503, percentage: { numerator: 10 } } }, ' +
    'envoy.filters.http.cors: { "@type": type.googleapis.com/envoy.config.route.v3.CorsPolicy, allow_origin_string_match: [{ exact: "https://a.example" }] } }';
  const route = virtualHost(config(both)).routes[0]!;
  assert.equal(route.fault?.filterName, 'envoy.filters.http.fault');
  assert.equal(route.fault?.fault.abort?.httpStatus, 503);
  assert.equal(route.corsPolicy?.allowOriginStringMatch[0]?.exact, 'https://a.example');
  const vh = virtualHost(config('', both));
  assert.ok(vh.fault !== undefined && vh.corsPolicy !== undefined, 'on the virtual host too');
});
