/**
 * Each model resource as the Envoy API message it stands for (Listener, Cluster, RouteConfiguration,
 * Secret, ClusterLoadAssignment, Bootstrap), in proto3 JSON. Where the model holds a setting in
 * another place or form than the proto (a TLS context not wrapped in a transport socket, a retry
 * policy's conditions as a list), it is put back where Envoy has it; settings Envoy has no field for
 * print under the model's name (see docs/admin.md).
 */
import type { Bootstrap } from '../../model/bootstrap.js';
import type { Cluster } from '../../model/cluster.js';
import type { AccessLog, FilterChain, HttpConnectionManager, Listener, NetworkFilter } from '../../model/listener.js';
import type { RetryPolicy, Route, RouteAction, RouteConfiguration, VirtualHost } from '../../model/route.js';
import type { CommonTlsContext, Secret, TlsCertificate } from '../../model/tls.js';
import { protoFieldName, toEnvoyJson, Verbatim } from './envoy-json.js';
import { faultTypedPerFilterConfig } from './envoy-fault-config.js';
import { redactKeys } from './config-redaction.js';
import { shapeCorsPolicy } from './cors-policy-shape.js';
import { typedPerFilterConfigShape } from './per-filter-config-shape.js';

type Json = Record<string, unknown>;

const TYPE = 'type.googleapis.com/';
export const LISTENER_TYPE = `${TYPE}envoy.config.listener.v3.Listener`;
export const CLUSTER_TYPE = `${TYPE}envoy.config.cluster.v3.Cluster`;
export const ROUTE_CONFIGURATION_TYPE = `${TYPE}envoy.config.route.v3.RouteConfiguration`;
export const SECRET_TYPE = `${TYPE}envoy.extensions.transport_sockets.tls.v3.Secret`;
export const CLUSTER_LOAD_ASSIGNMENT_TYPE = `${TYPE}envoy.config.endpoint.v3.ClusterLoadAssignment`;

const HCM_TYPE = `${TYPE}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const TCP_PROXY_TYPE = `${TYPE}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`;
const FILE_ACCESS_LOG_TYPE = `${TYPE}envoy.extensions.access_loggers.file.v3.FileAccessLog`;
const PREVIOUS_HOSTS_TYPE = `${TYPE}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate`;
const REGEX_ENGINES: Record<string, Json> = {
  re2: { name: 'envoy.regex_engines.google_re2', typedConfig: { '@type': `${TYPE}envoy.extensions.regex_engines.v3.GoogleRE2` } },
  hyperscan: { name: 'envoy.regex_engines.hyperscan', typedConfig: { '@type': `${TYPE}envoy.extensions.regex_engines.hyperscan.v3alpha.Hyperscan` } },
};
/** RedirectAction.response_code is an enum; MOVED_PERMANENTLY (301) is its default. */
const REDIRECT_CODES: Record<number, string> = { 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT' };

/** Keys redacted, then shaped and printed: a key's bytes or a PIN never reach the shaping. */
function print<T>(resource: T, shape: (r: T) => Json): Json {
  return toEnvoyJson(shape(redactKeys(resource) as T)) as Json;
}

export function envoyListener(l: Listener): Json {
  return print(l, shapeListener);
}

export function envoyCluster(c: Cluster): Json {
  return print(c, shapeCluster);
}

export function envoyRouteConfiguration(rc: RouteConfiguration): Json {
  return print(rc, shapeRouteConfiguration);
}

export function envoySecret(s: Secret): Json {
  return print(s, (x) => ({ name: x.name, tlsCertificate: x.tlsCertificate && shapeCertificate(x.tlsCertificate), validationContext: x.validationContext }));
}

/** A cluster's endpoints as Envoy's EDS dump prints them (a cluster without endpoints has its name only). */
export function envoyClusterLoadAssignment(c: Cluster): Json {
  return print(c, (x) => ({
    clusterName: x.loadAssignment?.clusterName || x.name,
    endpoints: x.loadAssignment?.endpoints.map((e) => ({ locality: e.locality ?? {}, ...e })),
    policy: { overprovisioningFactor: 140 },
  }));
}

/** The bootstrap as it runs: node, admin, static resources (without route configurations, which Envoy's bootstrap has no field for). */
export function envoyBootstrap(b: Bootstrap): Json {
  return print(b, (x) => ({
    node: x.node,
    staticResources: {
      listeners: x.staticResources.listeners.map(shapeListener),
      clusters: x.staticResources.clusters.map(shapeCluster),
      secrets: x.staticResources.secrets.map((s) => ({ name: s.name, tlsCertificate: s.tlsCertificate && shapeCertificate(s.tlsCertificate), validationContext: s.validationContext })),
    },
    admin: x.admin,
    defaultRegexEngine: REGEX_ENGINES[x.defaultRegexEngine] ?? { name: x.defaultRegexEngine },
    watchdogs: {
      workerWatchdog: { megamissTimeout: x.workerWatchdog.stallMs, killTimeout: x.workerWatchdog.killMs, maxKillTimeoutJitter: x.workerWatchdog.killJitterMs },
    },
  }));
}

function shapeListener(l: Listener): Json {
  const balancer = l.connectionBalanceConfig.balancer;
  return {
    ...l,
    filterChains: l.filterChains.map(shapeFilterChain),
    // Envoy names one balancer (exact_balance); Bulwark's others print under the model's name.
    connectionBalanceConfig: balancer === 'none' ? undefined : balancer === 'exact' ? { exactBalance: {} } : { balancer },
  };
}

function shapeFilterChain(fc: FilterChain): Json {
  return {
    ...fc,
    filters: fc.filters.map(shapeNetworkFilter),
    transportSocket: fc.transportSocket && tlsSocket('DownstreamTlsContext', { ...fc.transportSocket, commonTlsContext: shapeTlsContext(fc.transportSocket.commonTlsContext) }),
  };
}

function shapeNetworkFilter(f: NetworkFilter): Json {
  if (f.name === 'envoy.filters.network.http_connection_manager') return { name: f.name, typedConfig: { '@type': HCM_TYPE, ...shapeHcm(f.typedConfig) } };
  const tcp = f.typedConfig;
  return {
    name: f.name,
    typedConfig: {
      '@type': TCP_PROXY_TYPE,
      ...tcp,
      weightedClusters: tcp.weightedClusters && { clusters: tcp.weightedClusters },
      accessLog: tcp.accessLog.map(shapeAccessLog),
    },
  };
}

function shapeHcm(hcm: HttpConnectionManager): Json {
  return {
    ...hcm,
    routeConfig: hcm.routeConfig && shapeRouteConfiguration(hcm.routeConfig),
    // A filter's typed config is printed as the config gave it: its keys may be user data.
    httpFilters: hcm.httpFilters.map((h) => ({ name: h.name, typedConfig: Object.keys(h.typedConfig).length > 0 ? new Verbatim(h.typedConfig) : undefined })),
    accessLog: hcm.accessLog.map(shapeAccessLog),
    tracingRandomSampling: undefined,
    tracing: hcm.tracingRandomSampling > 0 ? { randomSampling: { value: hcm.tracingRandomSampling } } : undefined,
  };
}

function shapeAccessLog(a: AccessLog): Json {
  const f = a.format;
  const json = f?.json && new Verbatim(f.json);
  const fileLog: Json = { '@type': FILE_ACCESS_LOG_TYPE, path: a.path };
  // jsonStrings stands for FileAccessLog's deprecated json_format (every value a string).
  if (f?.jsonStrings) fileLog.jsonFormat = json;
  else if (f) fileLog.logFormat = { textFormatSource: f.text === undefined ? undefined : { inlineString: f.text }, jsonFormat: json, omitEmptyValues: f.omitEmptyValues };
  return { name: a.name, typedConfig: fileLog };
}

function tlsSocket(message: string, context: Json): Json {
  return { name: 'envoy.transport_sockets.tls', typedConfig: { '@type': `${TYPE}envoy.extensions.transport_sockets.tls.v3.${message}`, ...context } };
}

function shapeTlsContext(c: CommonTlsContext): Json {
  return { ...c, tlsCertificates: c.tlsCertificates.map(shapeCertificate) };
}

function shapeCertificate(cert: TlsCertificate): Json {
  const p = cert.privateKeyProvider;
  if (p === undefined) return { ...cert };
  // The provider's settings are its own: field names back to the proto's spelling, values as given.
  const settings = Object.fromEntries(Object.entries(p.typedConfig).map(([k, v]) => [protoFieldName(k), v]));
  return { ...cert, privateKeyProvider: { providerName: p.providerName, typedConfig: new Verbatim(settings) } };
}

function shapeCluster(c: Cluster): Json {
  const t = c.circuitBreakers.thresholds;
  return {
    ...c,
    healthyPanicThreshold: undefined,
    commonLbConfig: { healthyPanicThreshold: { value: c.healthyPanicThreshold } },
    // uint64 fields print as strings in proto3 JSON.
    ringHashLbConfig: c.lbPolicy === 'RING_HASH' ? { minimumRingSize: String(c.ringHashLbConfig.minimumRingSize), maximumRingSize: String(c.ringHashLbConfig.maximumRingSize) } : undefined,
    leastRequestLbConfig: c.lbPolicy === 'LEAST_REQUEST' ? c.leastRequestLbConfig : undefined,
    circuitBreakers: { thresholds: [t] },
    transportSocket: c.transportSocket && tlsSocket('UpstreamTlsContext', { ...c.transportSocket, commonTlsContext: shapeTlsContext(c.transportSocket.commonTlsContext) }),
    tcpKeepaliveMs: undefined,
    upstreamConnectionOptions: c.tcpKeepaliveMs > 0 ? { tcpKeepalive: { keepaliveTime: Math.max(1, Math.round(c.tcpKeepaliveMs / 1000)) } } : undefined,
  };
}

function shapeRouteConfiguration(rc: RouteConfiguration): Json {
  return { ...rc, virtualHosts: rc.virtualHosts.map(shapeVirtualHost), fault: undefined, typedPerFilterConfig: faultTypedPerFilterConfig(rc.fault) };
}

function shapeVirtualHost(vh: VirtualHost): Json {
  return {
    ...vh,
    routes: vh.routes.map(shapeRoute),
    retryPolicy: vh.retryPolicy && shapeRetryPolicy(vh.retryPolicy),
    fault: undefined,
    corsPolicy: undefined,
    typedPerFilterConfig: typedPerFilterConfigShape(vh.fault, vh.corsPolicy),
    cors: shapeCorsPolicy(vh.cors),
  };
}

function shapeRoute(r: Route): Json {
  return {
    ...r,
    fault: undefined,
    match: { ...r.match, grpc: r.match.grpc ? {} : undefined },
    route: r.route && shapeRouteAction(r.route),
    redirect: r.redirect && { ...r.redirect, responseCode: REDIRECT_CODES[r.redirect.responseCode] },
    corsPolicy: undefined,
    typedPerFilterConfig: typedPerFilterConfigShape(r.fault, r.corsPolicy),
  };
}

function shapeRouteAction(a: RouteAction): Json {
  return { ...a, retryPolicy: a.retryPolicy && shapeRetryPolicy(a.retryPolicy), cors: shapeCorsPolicy(a.cors) };
}

function shapeRetryPolicy(p: RetryPolicy): Json {
  return {
    ...p,
    retryOn: p.retryOn.join(','),
    avoidPreviousHosts: undefined,
    retryHostPredicate: p.avoidPreviousHosts ? [{ name: 'envoy.retry_host_predicates.previous_hosts', typedConfig: { '@type': PREVIOUS_HOSTS_TYPE } }] : undefined,
    // int64 prints as a string in proto3 JSON.
    hostSelectionRetryMaxAttempts: p.hostSelectionRetryMaxAttempts > 0 ? String(p.hostSelectionRetryMaxAttempts) : undefined,
  };
}
