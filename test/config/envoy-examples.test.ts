import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadBootstrapFile, parseBootstrap } from '../../src/config/bootstrap-loader.js';
import type { HttpConnectionManager } from '../../src/model/listener.js';
import { compileAccessLogFormat } from '../../src/telemetry/access-log-template.js';
import { refusalsOf } from '../support/config-refusals.js';

/** Configs written the way Envoy's own examples and docs write them (test/fixtures/envoy/). */
function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/envoy/${name}`, import.meta.url));
}

function errorsOf(yaml: string, file = 'envoy.yaml'): string[] {
  return refusalsOf(yaml, file);
}

function hcmOf(b: ReturnType<typeof loadBootstrapFile>, listener = 0): HttpConnectionManager {
  const f = b.staticResources.listeners[listener]!.filterChains[0]!.filters[0]!;
  assert.equal(f.name, 'envoy.filters.network.http_connection_manager');
  return f.typedConfig as HttpConnectionManager;
}

test('enum values in lower case load as Envoy reads them (upper-cased)', () => {
  const b = loadBootstrapFile(fixture('lowercase-enums.yaml'));
  assert.equal(hcmOf(b).codecType, 'AUTO');
  const c = b.staticResources.clusters[0]!;
  assert.equal(c.type, 'STRICT_DNS');
  assert.equal(c.lbPolicy, 'ROUND_ROBIN');
});

test('an enum value that is not one in any case is still refused, naming the field', () => {
  const errors = errorsOf(`
static_resources:
  clusters:
  - name: c
    type: sometimes_dns
    load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } } }] }] }
`);
  assert.match(errors[0]!, /envoy\.yaml: cluster "c": type: must be one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, got "sometimes_dns"/);
});

test('listeners without a name load, named after their address', () => {
  const b = loadBootstrapFile(fixture('unnamed-listeners.yaml'));
  assert.deepEqual(
    b.staticResources.listeners.map((l) => l.name),
    ['127.0.0.1_8080', '127.0.0.1_8443'],
  );
});

test('an unnamed listener with an error is reported by its position', () => {
  const errors = errorsOf(`
static_resources:
  listeners:
  - address: { socket_address: { address: 127.0.0.1, port_value: 8080 } }
    filter_chains: []
`);
  assert.match(errors[0]!, /envoy\.yaml: listener "#0": filter_chains: needs at least one filter chain/);
});

test('a single object where Envoy expects a list is read as a list of one', () => {
  const b = loadBootstrapFile(fixture('single-tls-certificate.yaml'));
  const tls = b.staticResources.listeners[0]!.filterChains[0]!.transportSocket!;
  assert.deepEqual(tls.commonTlsContext.tlsCertificates, [
    { certificateChain: { filename: 'certs/servercert.pem', inlineString: undefined }, privateKey: { filename: 'certs/serverkey.pem', inlineString: undefined } },
  ]);
});

test('an error inside a single object given for a list names the field without an index', () => {
  const errors = errorsOf(`
static_resources:
  clusters:
  - name: c
    load_assignment:
      endpoints:
        lb_endpoints:
          endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1, colour: blue } } }
`);
  assert.match(errors[0]!, /cluster "c": load_assignment\.endpoints\.lb_endpoints\.endpoint\.address\.socket_address\.colour: unknown field/);
});

test('access logs in the formats of Envoy\'s docs load, with %REQUEST_HEADER% and %RESPONSE_HEADER% as %REQ% and %RESP%', () => {
  const b = loadBootstrapFile(fixture('access-log-formats.yaml'));
  const [json, text] = hcmOf(b).accessLog;
  const line = compileAccessLogFormat(json!.format!)({ protocol: 'HTTP/1.1', durationMs: 3 }, ['my_custom_header', 'abc']);
  assert.equal(JSON.parse(line).my_custom_header, 'abc');
  const textLine = compileAccessLogFormat(text!.format!)({ method: 'GET', upstreamServiceTimeMs: 7, responseCode: 200 });
  assert.equal(textLine, 'GET 7 200');
});

test('bootstrap tuning of machinery Bulwark does not have (overload manager, stats sinks, runtime) is accepted', () => {
  const b = loadBootstrapFile(fixture('bootstrap-tuning.yaml'));
  assert.equal(b.staticResources.clusters.length, 1);
  assert.equal(b.admin?.address.socketAddress.portValue, 9901);
});

test('cluster_manager.upstream_bind_config would change upstream source addresses and is refused', () => {
  const errors = errorsOf(`
cluster_manager:
  upstream_bind_config: { source_address: { address: 10.0.0.1, port_value: 0 } }
`);
  assert.match(errors[0]!, /envoy\.yaml: bootstrap: cluster_manager\.upstream_bind_config: unknown field/);
});

test('the edge best-practices listener loads: h2 window sizes accepted, comma-joined ALPN split as Envoy does', () => {
  const b = loadBootstrapFile(fixture('edge-listener.yaml'));
  const l = b.staticResources.listeners[0]!;
  assert.equal(l.perConnectionBufferLimitBytes, 32768);
  assert.deepEqual(l.filterChains[0]!.transportSocket!.commonTlsContext.alpnProtocols, ['h2', 'http/1.1']);
  const hcm = hcmOf(b);
  assert.equal(hcm.http2ProtocolOptions.maxConcurrentStreams, 100);
  assert.equal(hcm.pathWithEscapedSlashesAction, 'REJECT_REQUEST');
  assert.equal(hcm.commonHttpProtocolOptions.headersWithUnderscoresAction, 'REJECT_REQUEST');
  assert.ok(b.staticResources.clusters[0]!.http2ProtocolOptions);
});

test('UNESCAPE_AND_REDIRECT, as written in the edge best-practice listener, loads', () => {
  const yaml = `
static_resources:
  listeners:
  - address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT
          route_config: { virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, direct_response: { status: 200 } }] }] }
`;
  const hcm = parseBootstrap(yaml, 'envoy.yaml').staticResources.listeners[0]!.filterChains[0]!.filters[0]!.typedConfig as HttpConnectionManager;
  assert.equal(hcm.pathWithEscapedSlashesAction, 'UNESCAPE_AND_REDIRECT');
});

test('the deprecated match_subject_alt_names (Envoy\'s double-proxy example) loads as one matcher per SAN type, as Envoy expands it', () => {
  const cluster = (validation: string) => `
static_resources:
  clusters:
  - name: postgres_cluster
    connect_timeout: 1s
    type: strict_dns
    load_assignment: { cluster_name: postgres_cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: localhost, port_value: 5432 } } } }] }] }
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        common_tls_context:
          validation_context:
${validation}`;
  const b = parseBootstrap(cluster('            match_subject_alt_names:\n            - exact: proxy-postgres-backend.example.com\n            trusted_ca:\n              filename: certs/cacert.pem\n'), 'envoy.yaml');
  const exact = { exact: 'proxy-postgres-backend.example.com', prefix: undefined, suffix: undefined, contains: undefined, ignoreCase: false };
  assert.deepEqual(b.staticResources.clusters[0]!.transportSocket!.commonTlsContext.validationContext!.matchTypedSubjectAltNames, [
    { sanType: 'DNS', matcher: exact },
    { sanType: 'URI', matcher: exact },
    { sanType: 'EMAIL', matcher: exact },
    { sanType: 'IP_ADDRESS', matcher: exact },
  ]);
  // Both fields at once, or names without a CA that vouches for them, are refused as Envoy refuses them.
  const both = errorsOf(cluster('            match_subject_alt_names: [{ exact: a.example.com }]\n            match_typed_subject_alt_names: [{ san_type: DNS, matcher: { exact: b.example.com } }]\n            trusted_ca: { filename: certs/cacert.pem }\n'));
  assert.match(both[0]!, /validation_context\.match_subject_alt_names: SAN-based verification using both matchTypedSubjectAltNames and the deprecated matchSubjectAltNames is not allowed/);
  const noCa = errorsOf(cluster('            match_subject_alt_names: [{ exact: a.example.com }]\n'));
  assert.match(noCa[0]!, /validation_context\.match_subject_alt_names: SAN-based verification of peer certificates without trustedCa is insecure/);
});

test('scheme_header_transformation, as Envoy\'s default proxy config writes it, loads; scheme_to_overwrite wins over match_upstream, and only http or https is taken', () => {
  const hcmWith = (transformation: string) => `
static_resources:
  listeners:
  - name: listener_0
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          scheme_header_transformation:
${transformation}
          stat_prefix: ingress_http
          route_config: { virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, direct_response: { status: 200 } }] }] }
`;
  const hcm = (yaml: string) => parseBootstrap(yaml, 'envoy.yaml').staticResources.listeners[0]!.filterChains[0]!.filters[0]!.typedConfig as HttpConnectionManager;
  assert.deepEqual(hcm(hcmWith('            scheme_to_overwrite: https')).schemeHeaderTransformation, { schemeToOverwrite: 'https', matchUpstream: false });
  assert.deepEqual(hcm(hcmWith('            match_upstream: true')).schemeHeaderTransformation, { matchUpstream: true });
  assert.deepEqual(hcm(hcmWith('            scheme_to_overwrite: http\n            match_upstream: true')).schemeHeaderTransformation, { schemeToOverwrite: 'http', matchUpstream: false });
  assert.match(errorsOf(hcmWith('            scheme_to_overwrite: ftp'))[0]!, /scheme_header_transformation\.scheme_to_overwrite: must be "http" or "https", got "ftp"/);
});

test('the grpc-bridge server example loads: its route matches gRPC requests only (match.grpc), to an HTTP/2 cluster', () => {
  const b = loadBootstrapFile(fixture('grpc-bridge-server.yaml'));
  assert.equal(hcmOf(b).routeConfig!.virtualHosts[0]!.routes[0]!.match.grpc, true);
  assert.ok(b.staticResources.clusters[0]!.http2ProtocolOptions);
});
