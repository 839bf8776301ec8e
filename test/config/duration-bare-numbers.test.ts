/**
 * Durations are protobuf JSON Duration strings ("5s", "250ms"). A bare number (`connectTimeout: 5`) is
 * refused as Envoy refuses it, on every duration field, with an error naming file, resource and field;
 * a reload carrying one is rejected and the running config stays.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { ConfigErrors } from '../../src/config/config-errors.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const FILE = 'mesh.json';
// Loose on purpose: the test edits nested config objects by path.
type Json = Record<string, any>;

/** A config with every duration-bearing object present, each holding a valid duration. */
function fullConfig(): Json {
  const routes = routeConfig([
    {
      match: { prefix: '/' },
      route: {
        cluster: 'app',
        timeout: '5s',
        idleTimeout: '5s',
        retryPolicy: { retryOn: '5xx', perTryTimeout: '1s', retryBackOff: { baseInterval: '25ms', maxInterval: '250ms' } },
        maxStreamDuration: { maxStreamDuration: '5s', grpcTimeoutHeaderMax: '5s', grpcTimeoutHeaderOffset: '0s' },
      },
    },
  ]);
  const hcm = {
    streamIdleTimeout: '5s',
    requestTimeout: '5s',
    requestHeadersTimeout: '5s',
    drainTimeout: '5s',
    delayedCloseTimeout: '1s',
    commonHttpProtocolOptions: { idleTimeout: '5s' },
    http2ProtocolOptions: { connectionKeepalive: { interval: '5s', timeout: '5s' } },
  };
  const listener = httpListener('ingress', 8080, routes, hcm) as Json;
  listener.listenerFiltersTimeout = '5s';
  const tcp = {
    name: 'tcp',
    address: { socketAddress: { address: '127.0.0.1', portValue: 8081 } },
    filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'tcp', cluster: 'app', idleTimeout: '5s' } }] }],
  };
  const cluster = staticCluster('app', [9000], {
    commonHttpProtocolOptions: { idleTimeout: '5s' },
    healthChecks: [{ timeout: '1s', interval: '5s', unhealthyThreshold: 2, healthyThreshold: 1, httpHealthCheck: { path: '/healthz' } }],
    outlierDetection: { interval: '5s', baseEjectionTime: '30s', maxEjectionTime: '300s' },
  });
  return JSON.parse(bootstrap([listener, tcp], [cluster])) as Json;
}

/** Every duration field of fullConfig: [resource in the error, field path in the error, setter]. */
const FIELDS: Array<[string, string, (c: Json, v: unknown) => void]> = [
  ['cluster "app"', 'connectTimeout', (c, v) => (c.staticResources.clusters[0].connectTimeout = v)],
  ['cluster "app"', 'commonHttpProtocolOptions.idleTimeout', (c, v) => (c.staticResources.clusters[0].commonHttpProtocolOptions.idleTimeout = v)],
  ['cluster "app"', 'healthChecks[0].interval', (c, v) => (c.staticResources.clusters[0].healthChecks[0].interval = v)],
  ['cluster "app"', 'healthChecks[0].timeout', (c, v) => (c.staticResources.clusters[0].healthChecks[0].timeout = v)],
  ['cluster "app"', 'outlierDetection.interval', (c, v) => (c.staticResources.clusters[0].outlierDetection.interval = v)],
  ['cluster "app"', 'outlierDetection.baseEjectionTime', (c, v) => (c.staticResources.clusters[0].outlierDetection.baseEjectionTime = v)],
  ['cluster "app"', 'outlierDetection.maxEjectionTime', (c, v) => (c.staticResources.clusters[0].outlierDetection.maxEjectionTime = v)],
  ['listener "ingress"', 'listenerFiltersTimeout', (c, v) => (c.staticResources.listeners[0].listenerFiltersTimeout = v)],
  ...['streamIdleTimeout', 'requestTimeout', 'requestHeadersTimeout', 'drainTimeout', 'delayedCloseTimeout'].map(
    (f) => ['listener "ingress"', f, (c: Json, v: unknown) => (hcmOf(c)[f] = v)] as [string, string, (c: Json, v: unknown) => void],
  ),
  ['listener "ingress"', 'commonHttpProtocolOptions.idleTimeout', (c, v) => (hcmOf(c).commonHttpProtocolOptions.idleTimeout = v)],
  ['listener "ingress"', 'connectionKeepalive.interval', (c, v) => (hcmOf(c).http2ProtocolOptions.connectionKeepalive.interval = v)],
  ['listener "ingress"', 'connectionKeepalive.timeout', (c, v) => (hcmOf(c).http2ProtocolOptions.connectionKeepalive.timeout = v)],
  ['listener "ingress"', 'route.timeout', (c, v) => (routeOf(c).timeout = v)],
  ['listener "ingress"', 'route.idleTimeout', (c, v) => (routeOf(c).idleTimeout = v)],
  ['listener "ingress"', 'retryPolicy.perTryTimeout', (c, v) => (routeOf(c).retryPolicy.perTryTimeout = v)],
  ['listener "ingress"', 'retryBackOff.baseInterval', (c, v) => (routeOf(c).retryPolicy.retryBackOff.baseInterval = v)],
  ['listener "ingress"', 'retryBackOff.maxInterval', (c, v) => (routeOf(c).retryPolicy.retryBackOff.maxInterval = v)],
  ['listener "ingress"', 'maxStreamDuration.maxStreamDuration', (c, v) => (routeOf(c).maxStreamDuration.maxStreamDuration = v)],
  ['listener "ingress"', 'maxStreamDuration.grpcTimeoutHeaderMax', (c, v) => (routeOf(c).maxStreamDuration.grpcTimeoutHeaderMax = v)],
  ['listener "ingress"', 'maxStreamDuration.grpcTimeoutHeaderOffset', (c, v) => (routeOf(c).maxStreamDuration.grpcTimeoutHeaderOffset = v)],
  ['listener "tcp"', 'typedConfig.idleTimeout', (c, v) => (c.staticResources.listeners[1].filterChains[0].filters[0].typedConfig.idleTimeout = v)],
];

function hcmOf(c: Json): Json {
  return c.staticResources.listeners[0].filterChains[0].filters[0].typedConfig;
}
function routeOf(c: Json): Json {
  return hcmOf(c).routeConfig.virtualHosts[0].routes[0].route;
}

function errorsOf(config: Json): string[] {
  try {
    parseBootstrap(JSON.stringify(config), FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, String(err));
    return err.errors.map((e) => e.message);
  }
  return [];
}

test('the full config with duration strings loads', () => {
  assert.deepEqual(errorsOf(fullConfig()), []);
});

for (const [resource, field, set] of FIELDS) {
  test(`${field} of ${resource}: a bare number is refused, naming file, resource and field`, () => {
    const c = fullConfig();
    set(c, 5);
    const errors = errorsOf(c);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.ok(errors[0]!.startsWith(`${FILE}: ${resource}: `), errors[0]);
    assert.match(errors[0]!, new RegExp(`${field.replace(/[.[\]]/g, '\\$&')}: expected a duration string such as "5s".*bare number 5`));
    set(c, 0);
    assert.match(errorsOf(c)[0] ?? '', /bare number 0/, 'zero too: "0s" says it is a duration');
  });
}

test('sessionTimeout of a TLS listener: a bare number is refused too', () => {
  const c = fullConfig();
  c.staticResources.listeners[0].filterChains[0].transportSocket = {
    name: 'envoy.transport_sockets.tls',
    typedConfig: { sessionTimeout: 300, commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: 'cert' }] } },
  };
  assert.match(errorsOf(c)[0] ?? '', /mesh\.json: listener "ingress": .*sessionTimeout: expected a duration string such as "300s"/);
});

let upstream: TestUpstream;
let proxy: RunningProxy;

before(async () => {
  upstream = await startUpstream('app');
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

test('a reload with a bare-number duration is rejected and the last good config keeps serving', async () => {
  const port = await freePort();
  const good = JSON.parse(bootstrap([httpListener('main', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]))], [staticCluster('app', [upstream.port])])) as Json;
  proxy = await startProxy(JSON.stringify(good));
  const bad = structuredClone(good);
  bad.staticResources.clusters[0].connectTimeout = 5;
  proxy.reload(JSON.stringify(bad));
  await proxy.waitForLog(/config reload rejected/);
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { version: string; lastReloadError?: string };
  assert.equal(dump.version, 'static-1');
  assert.match(dump.lastReloadError ?? '', /proxy\.yaml: cluster "app": connectTimeout: expected a duration string such as "5s"/);
  const res = await fetch(`http://127.0.0.1:${port}/still`, { headers: { connection: 'close' } });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { upstream: string }).upstream, 'app');
});
