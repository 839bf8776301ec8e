import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { refusalsOf } from '../support/config-refusals.js';

const FILE = 'gateway.yaml';

const GOOD = `
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
          routeConfig:
            virtualHosts:
            - name: vh
              domains: ["*"]
              routes:
              - match: { safeRegex: { regex: "/items/[0-9]+" } }
                route: { cluster: items, timeout: 2.5s, retryPolicy: { retryOn: "5xx,reset", numRetries: 2, perTryTimeout: 500ms } }
              - match: { prefix: / }
                directResponse: { status: 404 }
  clusters:
  - name: items
    lbPolicy: RING_HASH
    loadAssignment:
      endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: 127.0.0.1, portValue: 9000 } } } }] }]
    outlierDetection: {}
`;

function errorsOf(yaml: string): string[] {
  return refusalsOf(yaml, FILE);
}

test('a valid bootstrap becomes the typed model with defaults and milliseconds', () => {
  const b = parseBootstrap(GOOD, FILE);
  const hcm = b.staticResources.listeners[0]!.filterChains[0]!.filters[0]!;
  assert.equal(hcm.name, 'envoy.filters.network.http_connection_manager');
  const route = hcm.name === 'envoy.filters.network.http_connection_manager' ? hcm.typedConfig.routeConfig!.virtualHosts[0]!.routes[0]! : undefined;
  assert.equal(route!.route!.timeout, 2500);
  assert.equal(route!.route!.retryPolicy!.perTryTimeout, 500);
  assert.deepEqual(route!.route!.retryPolicy!.retryOn, ['5xx', 'reset']);
  const cluster = b.staticResources.clusters[0]!;
  assert.equal(cluster.lbPolicy, 'RING_HASH');
  // Envoy's outlier detection defaults (with Istio's maxEjectionPercent) fill what the user left out.
  assert.deepEqual(cluster.outlierDetection, {
    consecutive5xx: 5,
    consecutiveGatewayFailure: 5,
    enforcingConsecutive5xx: 100,
    enforcingConsecutiveGatewayFailure: 0,
    splitExternalLocalOriginErrors: false,
    consecutiveLocalOriginFailure: 5,
    enforcingConsecutiveLocalOriginFailure: 100,
    interval: 10_000,
    baseEjectionTime: 30_000,
    maxEjectionPercent: 10,
    maxEjectionTime: 300_000,
  });
  assert.equal(cluster.circuitBreakers.thresholds.maxRequests, 1024);
});

test('outlier detection as Istio writes it loads; turning on success-rate ejection, which is not built, is refused', () => {
  const istio = GOOD.replace(
    '    outlierDetection: {}',
    [
      '    outlierDetection:',
      '      consecutive5xx: 7',
      '      enforcingConsecutive5xx: 100',
      '      consecutiveGatewayFailure: 3',
      '      enforcingConsecutiveGatewayFailure: 100',
      '      enforcingSuccessRate: 0',
      '      splitExternalLocalOriginErrors: true',
      '      consecutiveLocalOriginFailure: 2',
      '      enforcingConsecutiveLocalOriginFailure: 100',
      '      enforcingLocalOriginSuccessRate: 0',
      '      interval: 300s',
      '      baseEjectionTime: 900s',
    ].join('\n'),
  );
  const od = parseBootstrap(istio, FILE).staticResources.clusters[0]!.outlierDetection!;
  assert.equal(od.consecutive5xx, 7);
  assert.equal(od.enforcingConsecutiveGatewayFailure, 100);
  assert.equal(od.splitExternalLocalOriginErrors, true);
  assert.equal(od.consecutiveLocalOriginFailure, 2);
  assert.equal(od.interval, 300_000);
  const errs = errorsOf(istio.replace('enforcingSuccessRate: 0', 'enforcingSuccessRate: 100'));
  assert.equal(errs.length, 1);
  assert.match(errs[0]!, /cluster "items": outlierDetection\.enforcingSuccessRate: success-rate .* not supported/);
});

test('HTTP filters: what the proxy does itself loads; a filter it would not enforce is refused by name', () => {
  const withFilters = (filters: string) => GOOD.replace('          statPrefix: ingress\n', `          statPrefix: ingress\n          httpFilters:\n${filters}`);
  const istio = [
    '          - { name: istio.metadata_exchange, typedConfig: { "@type": type.googleapis.com/io.istio.http.peer_metadata.Config } }',
    '          - { name: envoy.filters.http.grpc_stats, typedConfig: { emitFilterState: true } }',
    '          - { name: envoy.filters.http.fault, typedConfig: { "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault } }',
    '          - { name: envoy.filters.http.cors }',
    '          - { name: istio.stats }',
    '          - { name: envoy.filters.http.router }',
    '',
  ].join('\n');
  assert.equal(parseBootstrap(withFilters(istio), FILE).staticResources.listeners.length, 1);
  // An AuthorizationPolicy arrives as RBAC: loading it and then not enforcing it would open the door.
  const rbac = errorsOf(withFilters('          - { name: envoy.filters.http.rbac, typedConfig: { rules: { action: DENY } } }\n          - { name: envoy.filters.http.router }\n'));
  assert.equal(rbac.length, 1);
  assert.match(rbac[0]!, /listener "ingress": .*httpFilters\[0\]\.name: HTTP filter envoy\.filters\.http\.rbac is not supported/);
  assert.match(errorsOf(withFilters('          - { name: envoy.filters.http.jwt_authn, typedConfig: {} }\n'))[0]!, /jwt_authn is not supported/);
  assert.match(errorsOf(withFilters('          - { name: envoy.filters.http.cors, typedConfig: { allowOriginStringMatch: [] } }\n'))[0]!, /cors with a configuration is not supported/);
  // Per-route config of a filter the proxy does not run is refused by the filter's name.
  const perRoute = GOOD.replace('directResponse: { status: 404 }', 'directResponse: { status: 404 }\n                typedPerFilterConfig: { envoy.filters.http.lua: { disabled: true } }');
  assert.match(errorsOf(perRoute)[0]!, /typedPerFilterConfig\.envoy\.filters\.http\.lua: per-route config for envoy\.filters\.http\.lua is not supported/);
});

test("a filter is what its typed_config's type says, as Envoy looks it up: a router's name over an RBAC config is refused as RBAC", () => {
  const withFilters = (filters: string) => GOOD.replace('          statPrefix: ingress\n', `          statPrefix: ingress\n          httpFilters:\n${filters}`);
  const disguised = errorsOf(withFilters('          - { name: envoy.filters.http.router, typedConfig: { "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC, rules: { action: DENY } } }\n'));
  assert.equal(disguised.length, 1);
  assert.match(disguised[0]!, /httpFilters\[0\]\.name: HTTP filter envoy\.filters\.http\.router \(its typed_config is envoy\.extensions\.filters\.http\.rbac\.v3\.RBAC\) is not supported/);
  // Wrapped in a TypedStruct, the carried type decides; an Istio name over a Wasm module is refused too.
  assert.match(errorsOf(withFilters('          - { name: envoy.filters.http.router, typedConfig: { "@type": type.googleapis.com/udpa.type.v1.TypedStruct, typeUrl: type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication } }\n'))[0]!, /jwt_authn\.v3\.JwtAuthentication\) is not supported/);
  assert.match(errorsOf(withFilters('          - { name: istio.stats, typedConfig: { "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm } }\n'))[0]!, /istio\.stats \(its typed_config is envoy\.extensions\.filters\.http\.wasm\.v3\.Wasm\) is not supported/);
  // Named anything, a Router config is the router; Istio's own telemetry types load under Istio's names.
  const ok = withFilters(
    [
      '          - { name: istio.stats, typedConfig: { "@type": type.googleapis.com/udpa.type.v1.TypedStruct, typeUrl: type.googleapis.com/stats.PluginConfig } }',
      '          - { name: istio.alpn, typedConfig: { "@type": type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig } }',
      '          - { name: my-router, typedConfig: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router } }',
      '',
    ].join('\n'),
  );
  assert.equal(parseBootstrap(ok, FILE).staticResources.listeners.length, 1);
});

test("a network filter is what its typed_config's type says: an HttpConnectionManager under a v2 or any name runs, another filter's config under a supported name is refused", () => {
  const network = (name: string, type?: string) =>
    GOOD.replace(
      '      - name: envoy.filters.network.http_connection_manager\n        typedConfig:\n',
      `      - name: ${name}\n        typedConfig:\n${type === undefined ? '' : `          "@type": type.googleapis.com/${type}\n`}`,
    );
  const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
  assert.notEqual(network('x', HCM), GOOD);
  for (const name of ['envoy.http_connection_manager', 'ingress-http']) {
    const f = parseBootstrap(network(name, HCM), FILE).staticResources.listeners[0]!.filterChains[0]!.filters[0]!;
    assert.equal(f.name, 'envoy.filters.network.http_connection_manager', name);
    assert.equal(f.name === 'envoy.filters.network.http_connection_manager' && f.typedConfig.statPrefix, 'ingress', name);
  }
  // Without a type the name decides, so an old name alone names nothing known.
  assert.match(errorsOf(network('envoy.http_connection_manager'))[0]!, /filters\[0\]\.name: unsupported network filter "envoy\.http_connection_manager" \(supported: /);
  // A config of another type is that filter, whatever the name says: it is refused, not read as the connection manager.
  const rbac = errorsOf(network('envoy.filters.network.http_connection_manager', 'envoy.extensions.filters.network.rbac.v3.RBAC'));
  assert.match(rbac[0]!, /filters\[0\]\.name: unsupported network filter "envoy\.filters\.network\.http_connection_manager" \(its typed_config is envoy\.extensions\.filters\.network\.rbac\.v3\.RBAC\)/);
  const tcp = `
staticResources:
  listeners:
  - name: passthrough
    address: { socketAddress: { address: 127.0.0.1, portValue: 8443 } }
    filterChains:
    - filters:
      - name: envoy.tcp_proxy
        typedConfig: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, statPrefix: tcp, cluster: items }
  clusters:
  - name: items
    loadAssignment:
      endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: 127.0.0.1, portValue: 9000 } } } }] }]
`;
  assert.equal(parseBootstrap(tcp, FILE).staticResources.listeners[0]!.filterChains[0]!.filters[0]!.name, 'envoy.filters.network.tcp_proxy');
  // A TypedStruct carries the type and, under value, the fields.
  const wrapped = tcp.replace(
    'typedConfig: { "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, statPrefix: tcp, cluster: items }',
    'typedConfig: { "@type": type.googleapis.com/xds.type.v3.TypedStruct, typeUrl: type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, value: { statPrefix: wrapped, cluster: items } }',
  );
  assert.notEqual(wrapped, tcp);
  const f = parseBootstrap(wrapped, FILE).staticResources.listeners[0]!.filterChains[0]!.filters[0]!;
  assert.equal(f.name === 'envoy.filters.network.tcp_proxy' && f.typedConfig.statPrefix, 'wrapped');
});

test('an EDS cluster loads with its endpoints inline, and is refused without them (no control plane would send them)', () => {
  const eds = GOOD.replace('    lbPolicy: RING_HASH', '    type: EDS\n    edsClusterConfig: { serviceName: items }\n    lbPolicy: RING_HASH');
  assert.equal(parseBootstrap(eds, FILE).staticResources.clusters[0]!.type, 'EDS');
  const without = eds.replace(/    loadAssignment:\n.*\n/, '');
  assert.deepEqual(errorsOf(without), ['gateway.yaml: cluster "items": loadAssignment: an EDS cluster needs its endpoints inline here (loadAssignment): endpoints are not fetched from a control plane']);
});

test('an unknown field is an error naming file, resource and field path, and the field it likely misspells', () => {
  const errs = errorsOf(GOOD.replace('lbPolicy: RING_HASH', 'lbPolicy: RING_HASH\n    lbPolcy: RANDOM'));
  assert.deepEqual(errs, ['gateway.yaml: cluster "items": lbPolcy: unknown field (did you mean "lbPolicy"?)']);
});

test('a misspelt field that leaves a required choice unmade is reported as unknown, not as the missing choice', () => {
  const prefix = errorsOf(GOOD.replace('- match: { prefix: / }', '- match: { prefx: / }'));
  assert.deepEqual(prefix, ['gateway.yaml: listener "ingress": filterChains[0].filters[0].typedConfig.routeConfig.virtualHosts[0].routes[1].match.prefx: unknown field (did you mean "prefix"?)']);
  const cluster = errorsOf(GOOD.replace('route: { cluster: items,', 'route: { clustr: items,'));
  assert.deepEqual(cluster, ['gateway.yaml: listener "ingress": filterChains[0].filters[0].typedConfig.routeConfig.virtualHosts[0].routes[0].route.clustr: unknown field (did you mean "cluster"?)']);
  const routeConfig = errorsOf(GOOD.replace('          routeConfig:', '          routeConfg:'));
  assert.deepEqual(routeConfig, ['gateway.yaml: listener "ingress": filterChains[0].filters[0].typedConfig.routeConfg: unknown field (did you mean "routeConfig"?)']);
});

test('an invalid regex is reported with its field path', () => {
  const errs = errorsOf(GOOD.replace('/items/[0-9]+', '/items/[0-9+'));
  assert.equal(errs.length, 1);
  assert.match(errs[0]!, /^gateway\.yaml: listener "ingress": filterChains\[0\]\.filters\[0\]\.typedConfig\.routeConfig\.virtualHosts\[0\]\.routes\[0\]\.match\.safeRegex\.regex: invalid regular expression/);
});

test('a route to an undefined cluster is refused', () => {
  const errs = errorsOf(GOOD.replace('route: { cluster: items,', 'route: { cluster: itemz,'));
  assert.equal(errs.length, 1);
  assert.match(errs[0]!, /cluster "itemz" is not defined/);
});

test('every bad resource is reported, not only the first', () => {
  const bad = GOOD.replace('portValue: 8080', 'portValue: 80800').replace("lbPolicy: RING_HASH", 'lbPolicy: FASTEST');
  const errs = errorsOf(bad);
  assert.equal(errs.length, 2, errs.join('\n'));
  assert.ok(errs.some((e) => e.includes('listener "ingress"') && e.includes('portValue: must be between 0 and 65535')));
  assert.ok(errs.some((e) => e.includes('cluster "items"') && e.includes('lbPolicy: must be one of')));
});

test('wrong types, bad durations and missing required fields say why', () => {
  assert.match(errorsOf(GOOD.replace('timeout: 2.5s', 'timeout: soon'))[0]!, /timeout: expected a duration/);
  assert.match(errorsOf(GOOD.replace('timeout: 2.5s', 'timeout: { seconds: 2, nano: 5 }'))[0]!, /timeout: expected a duration/);
  assert.match(errorsOf(GOOD.replace('timeout: 2.5s', 'timeout: { seconds: true }'))[0]!, /timeout: expected a duration/);
  assert.doesNotThrow(() => parseBootstrap(GOOD.replace('timeout: 2.5s', 'timeout: { seconds: "2", nanos: 500000000 }'), FILE));
  assert.match(errorsOf(GOOD.replace('numRetries: 2', 'numRetries: two'))[0]!, /numRetries: expected an integer/);
  assert.match(errorsOf(GOOD.replace('retryOn: "5xx,reset"', 'retryOn: "5xx,sometimes"'))[0]!, /unknown retry condition "sometimes"/);
  assert.match(errorsOf(GOOD.replace('domains: ["*"]', 'domains: []'))[0]!, /domains: needs at least one domain/);
});

test('a zero connect timeout, health-check interval or timeout, or outlier interval is refused, as Envoy refuses it', () => {
  // Accepted, 0s failed every upstream connection at once, and a 0s health-check interval probed ~700 times a second.
  assert.match(errorsOf(GOOD.replace('lbPolicy: RING_HASH', 'lbPolicy: RING_HASH\n    connectTimeout: 0s'))[0]!, /cluster "items": connectTimeout: must be longer than 0s/);
  const hc = (fields: string) => GOOD.replace('lbPolicy: RING_HASH', `lbPolicy: RING_HASH\n    healthChecks: [{ ${fields}, httpHealthCheck: { path: /hc } }]`);
  assert.match(errorsOf(hc('timeout: 1s, interval: 0s'))[0]!, /healthChecks\[0\]\.interval: must be longer than 0s/);
  assert.match(errorsOf(hc('timeout: 0s, interval: 1s'))[0]!, /healthChecks\[0\]\.timeout: must be longer than 0s/);
  assert.match(errorsOf(GOOD.replace('outlierDetection: {}', 'outlierDetection: { interval: 0s }'))[0]!, /outlierDetection\.interval: must be longer than 0s/);
  assert.doesNotThrow(() => parseBootstrap(hc('timeout: 1s, interval: 10s'), FILE));
});

test('a header value with CR/LF cannot be configured (header injection)', () => {
  const yaml = GOOD.replace('directResponse: { status: 404 }', 'directResponse: { status: 404 }\n                responseHeadersToAdd: [{ header: { key: x-a, value: "a\\r\\nset-cookie: x" } }]');
  assert.match(errorsOf(yaml)[0]!, /must not contain CR, LF or NUL/);
});

test('YAML syntax errors and duplicate keys are reported with a line', () => {
  assert.match(errorsOf('staticResources: [\n')[0]!, /gateway\.yaml: \(file\): line \d+/);
  assert.match(errorsOf('node: {id: a}\nnode: {id: b}\n')[0]!, /line 2/);
});

test('a JSON bootstrap (parsed without the YAML library) gives the same model as its YAML form', async () => {
  const { parse } = await import('yaml');
  const json = JSON.stringify(parse(GOOD), null, 2);
  assert.deepEqual(parseBootstrap(json, 'gateway.json'), parseBootstrap(GOOD, FILE));
});

test('JSON syntax errors and duplicate keys, at any depth, are reported with a line', () => {
  assert.match(errorsOf('{\n  "node": {"id": "a"},\n  "staticResources": [\n')[0]!, /gateway\.yaml: \(file\): line \d+: not valid JSON: /);
  // JSON-looking text that YAML reads (a flow mapping with bare keys) is still accepted.
  assert.equal(parseBootstrap('{node: {id: a}, staticResources: {listeners: [], clusters: []}}', FILE).node.id, 'a');
  assert.match(errorsOf('{\n  "node": {"id": "a"},\n  "node": {"id": "b"}\n}')[0]!, /line 3: duplicate key "node"/);
  const nested = '{"staticResources": {"clusters": [{"name": "a",\n "connectTimeout": "1s", "name": "b"}]}}';
  assert.match(errorsOf(nested)[0]!, /line 2: duplicate key "name"/);
});

test('two listeners on one address are refused', () => {
  const twice = GOOD.replace('  clusters:', `  - name: second
    address: { socketAddress: { address: 127.0.0.1, portValue: 8080 } }
    filterChains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typedConfig: { statPrefix: tcp, cluster: items }
  clusters:`);
  assert.match(errorsOf(twice)[0]!, /127\.0\.0\.1:8080 is already used by listener "ingress"/);
});

test('a TLS listener needs a certificate and client verification needs a CA', () => {
  const tls = GOOD.replace('    - filters:\n      - name: envoy.filters.network.http_connection_manager', `    - transportSocket:
        name: envoy.transport_sockets.tls
        typedConfig: { commonTlsContext: {}, requireClientCertificate: true }
      filters:
      - name: envoy.filters.network.http_connection_manager`);
  assert.match(errorsOf(tls)[0]!, /needs tlsCertificates or tlsCertificateSdsSecretConfigs/);
});

/** GOOD with every camelCase field name in its proto snake_case form, as Envoy's own examples write them. */
function snakeCased(yaml: string): string {
  return yaml
    .replace(/\b([a-z]+[A-Z][A-Za-z0-9]*)(?=:)/g, (k) => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()));
}

test('snake_case field names (Envoy\'s proto names) load into the same model as camelCase', () => {
  const snake = snakeCased(GOOD);
  assert.match(snake, /static_resources:/);
  assert.match(snake, /port_value: 8080/);
  assert.match(snake, /outlier_detection: \{\}/);
  assert.deepEqual(parseBootstrap(snake, FILE), parseBootstrap(GOOD, FILE));
});

test('Envoy\'s own front-proxy example, with @type and the router filter, loads', () => {
  const b = parseBootstrap(`
static_resources:
  listeners:
  - name: listener_0
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          codec_type: AUTO
          route_config:
            name: local_route
            virtual_hosts:
            - name: local_service
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: service }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: service
    connect_timeout: 0.25s
    type: STATIC
    lb_policy: LEAST_REQUEST
    outlier_detection: { consecutive_5xx: 3, base_ejection_time: 10s }
    load_assignment:
      cluster_name: service
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } }
`, FILE);
  const cluster = b.staticResources.clusters[0]!;
  assert.equal(cluster.connectTimeout, 250);
  assert.equal(cluster.lbPolicy, 'LEAST_REQUEST');
  assert.equal(cluster.outlierDetection!.consecutive5xx, 3);
  assert.equal(cluster.outlierDetection!.baseEjectionTime, 10_000);
  assert.equal(b.staticResources.listeners[0]!.address.socketAddress.portValue, 10000);
});

test('a field given under both spellings is refused, and errors name fields as the file spells them', () => {
  assert.deepEqual(errorsOf(GOOD.replace('lbPolicy: RING_HASH', 'lbPolicy: RING_HASH\n    lb_policy: RANDOM')), [
    'gateway.yaml: cluster "items": lbPolicy: is given twice, as "lbPolicy" and as "lb_policy"',
  ]);
  assert.deepEqual(errorsOf(snakeCased(GOOD).replace('lb_policy: RING_HASH', 'lb_policy: RING_HAS')), [
    'gateway.yaml: cluster "items": lb_policy: must be one of ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, got "RING_HAS"',
  ]);
});

test('Envoy v3 upstream protocol options, built-in listener filters and the admin access log path load', () => {
  const b = parseBootstrap(`
admin:
  access_log_path: /dev/null
  address: { socket_address: { address: 127.0.0.1, port_value: 9901 } }
static_resources:
  listeners:
  - name: in
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    listener_filters:
    - name: envoy.filters.listener.tls_inspector
      typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { stat_prefix: tcp, cluster: grpc }
  clusters:
  - name: grpc
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        common_http_protocol_options: { idle_timeout: 30s }
        explicit_http_config:
          http2_protocol_options: { max_concurrent_streams: 50 }
    load_assignment:
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9000 } } } }] }]
`, FILE);
  const cluster = b.staticResources.clusters[0]!;
  assert.deepEqual(cluster.http2ProtocolOptions, { maxConcurrentStreams: 50 });
  assert.equal(cluster.commonHttpProtocolOptions.idleTimeout, 30_000);

  const logical = parseBootstrap(GOOD.replace('lbPolicy: RING_HASH', 'lbPolicy: RING_HASH\n    type: LOGICAL_DNS').replace('address: 127.0.0.1, portValue: 9000', 'address: backend.internal, portValue: 9000'), FILE);
  assert.equal(logical.staticResources.clusters[0]!.type, 'LOGICAL_DNS');

  const withFilter = (name: string) => GOOD.replace('    filterChains:', `    listenerFilters: [{ name: ${name} }]\n    filterChains:`);
  assert.doesNotThrow(() => parseBootstrap(withFilter('envoy.filters.listener.http_inspector'), FILE));
  assert.deepEqual(errorsOf(withFilter('envoy.filters.listener.original_dst')), [
    'gateway.yaml: listener "ingress": listenerFilters[0].name: listener filter "envoy.filters.listener.original_dst" is not supported (supported: envoy.filters.listener.tls_inspector, envoy.filters.listener.http_inspector)',
  ]);
  const auto = GOOD.replace('    outlierDetection: {}', '    typedExtensionProtocolOptions: { envoy.extensions.upstreams.http.v3.HttpProtocolOptions: { autoConfig: {} } }');
  assert.deepEqual(errorsOf(auto), [
    'gateway.yaml: cluster "items": typedExtensionProtocolOptions.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.autoConfig: is not supported: choose the upstream protocol with explicitHttpConfig',
  ]);
});

test('an Istio sidecar listener and cluster as config_dump prints them load, with the settings Istio relies on', async () => {
  const { loadBootstrapFile } = await import('../../src/config/bootstrap-loader.js');
  const b = loadBootstrapFile(new URL('../fixtures/istio-sidecar-outbound.yaml', import.meta.url).pathname);
  const listener = b.staticResources.listeners[0]!;
  assert.equal(listener.trafficDirection, 'OUTBOUND');
  const hcm = listener.filterChains[0]!.filters[0]!;
  assert.ok(hcm.name === 'envoy.filters.network.http_connection_manager');
  assert.equal(hcm.typedConfig.forwardClientCertDetails, 'APPEND_FORWARD');
  assert.deepEqual(hcm.typedConfig.setCurrentClientCertDetails, { subject: true, cert: false, chain: false, dns: true, uri: true });
  assert.equal(hcm.typedConfig.tracingRandomSampling, 1);
  assert.equal(hcm.typedConfig.delayedCloseTimeout, 1000);
  assert.equal(hcm.typedConfig.httpProtocolOptions.acceptHttp10, false);
  const vh = hcm.typedConfig.routeConfig!.virtualHosts[0]!;
  assert.equal(vh.includeRequestAttemptCount, true);
  const action = vh.routes[0]!.route!;
  assert.deepEqual(action.maxStreamDuration, { maxStreamDuration: 0, grpcTimeoutHeaderMax: 0, grpcTimeoutHeaderOffset: 0 });
  assert.equal(action.retryPolicy!.avoidPreviousHosts, true);
  assert.equal(action.retryPolicy!.hostSelectionRetryMaxAttempts, 5);
  assert.deepEqual(action.retryPolicy!.retriableStatusCodes, [503]);
  const cluster = b.staticResources.clusters[0]!;
  assert.equal(cluster.tcpKeepaliveMs, 300_000);
  assert.equal(cluster.lbPolicy, 'LEAST_REQUEST');
});

test('Envoy options this proxy cannot honour are refused by name, not ignored', () => {
  const hcmWith = (field: string) => GOOD.replace('          statPrefix: ingress', `          statPrefix: ingress\n          ${field}`);
  assert.match(errorsOf(hcmWith('httpProtocolOptions: { enableTrailers: true }'))[0]!, /enableTrailers: HTTP\/1.1 trailers are not forwarded/);
  assert.match(errorsOf(GOOD.replace('    outlierDetection: {}', '    filters: [{ name: istio.metadata_exchange }]'))[0]!, /filters: upstream network filters are not supported/);
  assert.match(errorsOf(GOOD.replace('    filterChains:', '    bindToPort: false\n    filterChains:'))[0]!, /bindToPort: only true is supported/);
});

test('a second health check, or a second certificate in one TLS context, is refused rather than ignored', () => {
  const check = '{ timeout: 1s, interval: 5s, unhealthyThreshold: 2, healthyThreshold: 1, httpHealthCheck: { path: /healthz } }';
  assert.match(errorsOf(GOOD.replace('    outlierDetection: {}', `    healthChecks: [${check}, ${check}]`))[0]!, /healthChecks: one health check per cluster is supported/);
  const cert = '{ certificateChain: { filename: /tmp/a.pem }, privateKeyProvider: { providerName: pkcs11, typedConfig: { keyLabel: a } } }';
  const twoCerts = GOOD.replace('    - filters:\n      - name: envoy.filters.network.http_connection_manager', `    - transportSocket:
        name: envoy.transport_sockets.tls
        typedConfig: { commonTlsContext: { tlsCertificates: [${cert}, ${cert}] } }
      filters:
      - name: envoy.filters.network.http_connection_manager`);
  assert.match(errorsOf(twoCerts)[0]!, /tlsCertificates: one certificate per TLS context is supported/);
});

test('an unknown field far from every known one gets no suggestion', () => {
  const errs = errorsOf(GOOD.replace('lbPolicy: RING_HASH', 'lbPolicy: RING_HASH\n    colour: blue'));
  assert.deepEqual(errs, ['gateway.yaml: cluster "items": colour: unknown field']);
});

test("Envoy's worker watchdog is read: megamiss is the stall time, kill_timeout the kill; bad values are refused", () => {
  assert.deepEqual(parseBootstrap(GOOD, FILE).workerWatchdog, { stallMs: 2000, killMs: 0, killJitterMs: 0 });
  const envoy = `watchdogs:\n  main_thread_watchdog: { miss_timeout: 0.2s }\n  worker_watchdog: { miss_timeout: 0.2s, megamiss_timeout: 1s, kill_timeout: 30s, max_kill_timeout_jitter: 5s, multikill_timeout: 60s }\n${GOOD}`;
  assert.deepEqual(parseBootstrap(envoy, FILE).workerWatchdog, { stallMs: 1000, killMs: 30000, killJitterMs: 5000 });
  // The deprecated single watchdog applies to the workers as well.
  assert.deepEqual(parseBootstrap(`watchdog: { kill_timeout: 10s }\n${GOOD}`, FILE).workerWatchdog, { stallMs: 2000, killMs: 10000, killJitterMs: 0 });
  assert.deepEqual(errorsOf(`watchdog: {}\nwatchdogs: {}\n${GOOD}`), ['gateway.yaml: bootstrap: watchdogs: cannot be set together with watchdog (Envoy: only one of them)']);
  assert.deepEqual(errorsOf(`watchdogs: { workerWatchdog: { megamissTimeout: 0.1s } }\n${GOOD}`), ['gateway.yaml: bootstrap: watchdogs.workerWatchdog.megamissTimeout: must be at least 500ms: workers report to the primary every 250ms']);
  assert.match(errorsOf(`watchdogs: { workerWatchdog: { killTimeout: 0.5s } }\n${GOOD}`)[0]!, /workerWatchdog\.killTimeout: must be 0 \(never\) or at least 1000ms/);
  assert.match(errorsOf(`watchdogs: { workerWatchdog: { killTimout: 5s } }\n${GOOD}`)[0]!, /killTimout: unknown field \(did you mean "killTimeout"\?\)/);
});

test('an upgrade config for CONNECT is refused: CONNECT tunnels are not built', () => {
  const connect = GOOD.replace('          statPrefix: ingress', '          statPrefix: ingress\n          upgradeConfigs: [{ upgradeType: websocket }, { upgradeType: CONNECT }]');
  assert.deepEqual(errorsOf(connect), ['gateway.yaml: listener "ingress": filterChains[0].filters[0].typedConfig.upgradeConfigs[1].upgradeType: CONNECT tunnelling is not supported']);
  const websocket = GOOD.replace('          statPrefix: ingress', '          statPrefix: ingress\n          upgradeConfigs: [{ upgradeType: websocket }]');
  assert.equal(parseBootstrap(websocket, FILE).staticResources.listeners.length, 1);
});
