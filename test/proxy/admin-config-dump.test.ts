/**
 * /config_dump in Envoy's envoy.admin.v3.ConfigDump shape, as istioctl proxy-config and Envoy's other
 * tools read it, with Envoy's query parameters (?resource=, ?mask=, ?name_regex=, ?include_eds) and
 * error texts; and /bulwark/status, where Bulwark's own state went. Real curl against a real proxy.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { scratchPath } from '../support/scratch-path.js';
import { makePki } from '../support/tls-fixtures.js';

// Deep reads of the dump's JSON: the shape is what the assertions check.
type Json = Record<string, any>;

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const pki = makePki();
const leaf = pki.issue('gw', 'DNS:localhost');
let proxy: RunningProxy;
let port: number;
let tlsPort: number;
let admin: string;

/** The config: two clusters, a plain listener with a user-keyed filter config and access log, a TLS listener with an inline key. */
function config(appTimeout: string): string {
  const routes = routeConfig([
    {
      match: { prefix: '/', headers: [{ name: 'x-Tenant-Id', stringMatch: { exact: 'a' } }] },
      route: { cluster: 'app', timeout: appTimeout },
      requestHeadersToAdd: [{ header: { key: 'x-Added-By', value: 'bulwark' } }],
    },
  ]);
  const hcm = {
    httpFilters: [
      { name: 'istio.stats', typedConfig: { '@type': 'type.googleapis.com/stats.PluginConfig', metricRelabels: { requestTotal: 'x' } } },
      { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
    ],
    accessLog: [{ typedConfig: { path: scratchPath('dump-access.log'), logFormat: { jsonFormat: { requestPath: '%REQ(:PATH)%', upstreamHost: '%UPSTREAM_HOST%' } } } }],
  };
  const tls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: { commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: leaf.cert }, privateKey: { inlineString: readFileSync(leaf.key, 'utf8') } }] } },
    },
  };
  return bootstrap(
    [httpListener('plain', port, routes, hcm), httpListener('secure', tlsPort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'other' } }]), {}, tls)],
    [staticCluster('app', [port + 1], { connectTimeout: '1.5s' }), staticCluster('other', [port + 2])],
  );
}

async function dump(query = ''): Promise<{ status: number; body: string; json: () => Json; type: string | undefined }> {
  const r = await curl([`${admin}/config_dump${query}`]);
  return { status: r.status, body: r.body, json: () => JSON.parse(r.body) as Json, type: r.headers['content-type'] };
}

before(async () => {
  port = await freePort();
  tlsPort = await freePort();
  proxy = await startProxy(config('3s'), { extraArgs: ['--insecure-memory-keys'] });
  admin = `http://127.0.0.1:${proxy.adminPort}`;
});

after(async () => {
  await proxy?.stop();
});

test('/config_dump is a ConfigDump of typed configs in Envoy\'s order, printed as Envoy prints it', async () => {
  const r = await dump();
  assert.equal(r.status, 200);
  assert.equal(r.type, 'application/json');
  assert.match(r.body, /^\{\n "configs": \[\n  \{\n   "@type": /, 'one-space indent, as Envoy pretty-prints');
  assert.ok(r.body.endsWith('}\n'));
  const configs = r.json().configs as Json[];
  assert.deepEqual(configs.map((c) => c['@type']), ['BootstrapConfigDump', 'ClustersConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump'].map((t) => ADMIN + t));
  const [boot, clusters, listeners, routes] = configs as [Json, Json, Json, Json];
  assert.equal(boot.bootstrap.node.id, 'test-proxy');
  assert.equal(boot.bootstrap.admin.address.socket_address.port_value, proxy.adminPort);
  assert.deepEqual(boot.bootstrap.static_resources.clusters.map((c: Json) => c.name), ['app', 'other']);
  assert.match(boot.last_updated, RFC3339);
  assert.equal(clusters.version_info, 'static-1');
  const app = clusters.static_clusters[0];
  assert.equal(app.cluster['@type'], 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
  assert.equal(app.cluster.name, 'app');
  assert.equal(app.cluster.connect_timeout, '1.500s', 'a Duration as proto3 JSON prints it');
  assert.equal(app.cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, port + 1);
  assert.match(app.last_updated, RFC3339);
  assert.equal(listeners.static_listeners.length, 2);
  const plain = listeners.static_listeners[0].listener;
  assert.equal(plain['@type'], 'type.googleapis.com/envoy.config.listener.v3.Listener');
  assert.equal(plain.address.socket_address.port_value, port);
  const hcm = plain.filter_chains[0].filters[0].typed_config;
  assert.equal(hcm['@type'], 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  assert.equal(hcm.stat_prefix, 'plain');
  const secure = listeners.static_listeners[1].listener;
  assert.equal(secure.filter_chains[0].transport_socket.typed_config['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
  const route = routes.static_route_configs[0].route_config;
  assert.equal(route['@type'], 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration');
  assert.equal(route.virtual_hosts[0].routes[0].route.timeout, '3s');
});

test('keys are snake_case, but user data keeps its spelling: a filter\'s typed config, an access log format', async () => {
  const r = await dump();
  const listener = (r.json().configs[2] as Json).static_listeners[0].listener;
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  assert.deepEqual(hcm.http_filters[0].typed_config, { '@type': 'type.googleapis.com/stats.PluginConfig', metricRelabels: { requestTotal: 'x' } });
  const fileLog = hcm.access_log[0].typed_config;
  assert.equal(fileLog['@type'], 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog');
  assert.deepEqual(fileLog.log_format.json_format, { requestPath: '%REQ(:PATH)%', upstreamHost: '%UPSTREAM_HOST%' });
  const route = hcm.route_config.virtual_hosts[0].routes[0];
  assert.equal(route.match.headers[0].name, 'x-tenant-id');
  assert.deepEqual(route.request_headers_to_add[0].header, { key: 'x-added-by', value: 'bulwark' });
  for (const key of r.body.matchAll(/"([A-Za-z0-9_@]+)":/g)) {
    if (['metricRelabels', 'requestTotal', 'requestPath', 'upstreamHost'].includes(key[1]!)) continue;
    assert.match(key[1]!, /^[a-z0-9_@]+$/, `${key[1]} is a proto field name`);
  }
});

test('the inline private key is redacted in the listener and in the bootstrap; its bytes never appear', async () => {
  const r = await dump();
  const keyBody = readFileSync(leaf.key, 'utf8').split('\n')[1]!.slice(0, 16);
  assert.ok(!r.body.includes(keyBody), 'no key bytes');
  assert.doesNotMatch(r.body, /PRIVATE KEY/);
  const configs = r.json().configs as Json[];
  const inListener = configs[2]!.static_listeners[1].listener.filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificates[0];
  assert.deepEqual(inListener.private_key, { inline_string: '[redacted]' });
  const inBootstrap = configs[0]!.bootstrap.static_resources.listeners[1].filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificates[0];
  assert.deepEqual(inBootstrap.private_key, { inline_string: '[redacted]' });
});

test('?resource= lists one repeated field\'s entries, each packed with its own type; an unknown one gets Envoy\'s 404', async () => {
  const clusters = await dump('?resource=static_clusters');
  assert.equal(clusters.status, 200);
  const entries = clusters.json().configs as Json[];
  assert.deepEqual(entries.map((e) => e['@type']), [`${ADMIN}ClustersConfigDump.StaticCluster`, `${ADMIN}ClustersConfigDump.StaticCluster`]);
  assert.deepEqual(entries.map((e) => e.cluster.name), ['app', 'other']);
  const listeners = (await dump('?resource=static_listeners')).json().configs as Json[];
  assert.deepEqual(listeners.map((e) => [e['@type'], e.listener.name]), [[`${ADMIN}ListenersConfigDump.StaticListener`, 'plain'], [`${ADMIN}ListenersConfigDump.StaticListener`, 'secure']]);
  const dynamic = await dump('?resource=dynamic_active_clusters');
  assert.equal(dynamic.status, 200);
  assert.deepEqual(dynamic.json(), {}, 'no dynamic clusters: an empty ConfigDump');
  const unknown = await dump('?resource=no_such_field');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body, 'no_such_field not found in config dump');
  assert.match(unknown.type ?? '', /^text\/plain/);
  const single = await dump('?resource=version_info');
  assert.equal(single.status, 400);
  assert.equal(single.body, 'version_info is not a repeated field. Use ?mask=version_info to get only this field');
});

test('?mask= trims each config (leaving out those it does not fit), or each entry with ?resource=', async () => {
  const masked = (await dump('?mask=static_clusters')).json().configs as Json[];
  assert.deepEqual(masked.map((c) => Object.keys(c)), [['@type', 'static_clusters']], 'only ClustersConfigDump has static_clusters');
  const versions = (await dump('?mask=version_info')).json().configs as Json[];
  assert.deepEqual(versions, [{ '@type': `${ADMIN}ClustersConfigDump`, version_info: 'static-1' }, { '@type': `${ADMIN}ListenersConfigDump`, version_info: 'static-1' }]);
  const node = (await dump('?mask=bootstrap.node')).json().configs as Json[];
  assert.deepEqual(node, [{ '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: { node: { id: 'test-proxy', cluster: 'test' } } }]);
  const names = (await dump('?resource=static_clusters&mask=cluster.name,cluster.connect_timeout')).json().configs as Json[];
  assert.deepEqual(names[0], { '@type': `${ADMIN}ClustersConfigDump.StaticCluster`, cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'app', connect_timeout: '1.500s' } });
  const nothing = await dump('?mask=no_such_field');
  assert.equal(nothing.status, 400);
  assert.equal(nothing.body, 'FieldMask no_such_field could not be successfully applied to any configs.');
  const bad = await dump('?resource=static_clusters&mask=cluster.name,bogus');
  assert.equal(bad.status, 400);
  assert.equal(bad.body, 'FieldMask paths: "cluster.name"\npaths: "bogus"\n could not be successfully used.');
});

test('?name_regex= keeps the resources whose whole name matches; a bad RE2 gets 400', async () => {
  const configs = (await dump('?name_regex=app|plain|rout.*')).json().configs as Json[];
  assert.deepEqual(configs[1]!.static_clusters.map((c: Json) => c.cluster.name), ['app']);
  assert.deepEqual(configs[2]!.static_listeners.map((l: Json) => l.listener.name), ['plain']);
  assert.equal(configs[3]!.static_route_configs.length, 2);
  assert.deepEqual(configs[0]!.bootstrap.static_resources.clusters.map((c: Json) => c.name), ['app', 'other'], 'the bootstrap is not filtered');
  const partial = (await dump('?resource=static_clusters&name_regex=ap')).json();
  assert.deepEqual(partial, {}, 'a match of part of a name is not a match');
  const bad = await dump('?name_regex=(');
  assert.equal(bad.status, 400);
  assert.match(bad.body, /^INVALID_ARGUMENT: Error while parsing name_regex from \(: missing \)/);
});

test('?include_eds adds an EndpointsConfigDump of every cluster\'s endpoints, after the clusters', async () => {
  const configs = (await dump('?include_eds')).json().configs as Json[];
  assert.deepEqual(configs.map((c) => c['@type'].replace(ADMIN, '')), ['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump']);
  const endpoints = configs[2]!.static_endpoint_configs as Json[];
  assert.deepEqual(endpoints.map((e) => e.endpoint_config.cluster_name), ['app', 'other']);
  const app = endpoints[0]!.endpoint_config;
  assert.equal(app['@type'], 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment');
  assert.equal(app.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, port + 1);
  const one = (await dump('?include_eds&resource=static_endpoint_configs&name_regex=other')).json().configs as Json[];
  assert.deepEqual(one.map((e) => [e['@type'], e.endpoint_config.cluster_name]), [[`${ADMIN}EndpointsConfigDump.StaticEndpointConfig`, 'other']]);
  assert.equal((await dump('?resource=static_endpoint_configs')).status, 404, 'only with include_eds');
});

test('/bulwark/status keeps Bulwark\'s own state: version, last refused reload, listener ports, workers, the memory-key warning', async () => {
  const r = await curl([`${admin}/bulwark/status`]);
  assert.equal(r.status, 200);
  const status = JSON.parse(r.body) as Json;
  assert.equal(status.version, 'static-1');
  assert.deepEqual(status.listenerPorts, { plain: port, secure: tlsPort });
  assert.equal(status.node.id, 'test-proxy');
  assert.match(status.warnings.join('\n'), /INSECURE/);
  assert.ok(status.workers === 1 || status.workers.length === 2, JSON.stringify(status.workers));
});

test('a reload changes version_info and the changed route\'s last_updated; an unchanged cluster keeps its time', async () => {
  const before = (await dump()).json().configs as Json[];
  await new Promise((r) => setTimeout(r, 1100));
  proxy.reload(config('4s'));
  await proxy.waitForLog(/config applied/);
  const now = (await dump()).json().configs as Json[];
  assert.equal(now[1]!.version_info, 'static-2');
  assert.equal(now[1]!.static_clusters[0].last_updated, before[1]!.static_clusters[0].last_updated, 'cluster app did not change');
  assert.equal(now[3]!.static_route_configs[0].route_config.virtual_hosts[0].routes[0].route.timeout, '4s');
  assert.ok(Date.parse(now[3]!.static_route_configs[0].last_updated) > Date.parse(before[3]!.static_route_configs[0].last_updated), 'the route changed');
  assert.ok(Date.parse(now[0]!.last_updated) > Date.parse(before[0]!.last_updated), 'so did the bootstrap');
});
