import { isIP } from 'node:net';
import type { Cluster, ClusterLoadAssignment, HealthCheck } from '../model/cluster.js';
import { FieldReader } from './field-reader.js';
import { readAddress } from './listener-reader.js';
import { readUpstreamTls } from './tls-reader.js';

const LB_POLICIES = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH'] as const;

/** Reads a ClusterLoadAssignment (inline in a cluster, or from EDS). */
export function readLoadAssignment(r: FieldReader): ClusterLoadAssignment {
  r.ignore('@type', 'policy');
  const cla: ClusterLoadAssignment = {
    clusterName: r.optStr('clusterName') ?? '',
    endpoints: r.list('endpoints', (l) => {
      const locality = l.optObj('locality');
      const out = {
        locality: locality ? { region: locality.optStr('region'), zone: locality.optStr('zone'), subZone: locality.optStr('subZone') } : undefined,
        priority: l.int('priority', 0, 0, 127),
        lbEndpoints: l.list('lbEndpoints', (e) => {
          const ep = e.obj('endpoint');
          ep.ignore('healthCheckConfig');
          const hostname = ep.optStr('hostname');
          const lbEndpoint = {
            endpoint: hostname ? { address: readAddress(ep.obj('address'), true), hostname } : { address: readAddress(ep.obj('address'), true) },
            healthStatus: e.oneOf('healthStatus', ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING'] as const, 'UNKNOWN'),
            loadBalancingWeight: e.int('loadBalancingWeight', 1, 1, 1_000_000),
          };
          ep.done();
          e.ignore('metadata');
          e.done();
          return lbEndpoint;
        }),
      };
      locality?.done();
      l.ignore('loadBalancingWeight');
      l.done();
      return out;
    }),
  };
  r.done();
  return cla;
}

function readHealthCheck(r: FieldReader): HealthCheck {
  const hc: HealthCheck = {
    timeout: r.positiveDuration('timeout', 1000),
    interval: r.positiveDuration('interval', 5000),
    unhealthyThreshold: r.int('unhealthyThreshold', 3, 1, 1000),
    healthyThreshold: r.int('healthyThreshold', 1, 1, 1000),
  };
  const http = r.optObj('httpHealthCheck');
  if (http) {
    hc.httpHealthCheck = {
      path: http.nonEmptyStr('path'),
      host: http.optStr('host'),
      expectedStatuses: http.list('expectedStatuses', (s) => {
        const out = { start: s.int('start', 200, 100, 599), end: s.int('end', 201, 101, 600) };
        if (out.end <= out.start) s.fail('end', 'must be greater than start');
        s.done();
        return out;
      }),
    };
    if (hc.httpHealthCheck.expectedStatuses.length === 0) hc.httpHealthCheck.expectedStatuses = [{ start: 200, end: 201 }];
    http.done();
  }
  if (r.has('tcpHealthCheck')) {
    r.raw('tcpHealthCheck');
    hc.tcpHealthCheck = {};
  }
  r.done();
  if (!hc.httpHealthCheck === !hc.tcpHealthCheck) r.fail('', 'exactly one of httpHealthCheck, tcpHealthCheck is required');
  return hc;
}

/** commonLbConfig, ringHashLbConfig and leastRequestLbConfig, each optional over Envoy's defaults. */
function readLbConfigs(r: FieldReader, cluster: Cluster): void {
  const common = r.optObj('commonLbConfig');
  if (common) {
    // Envoy's Percent wrapper ({value: N}) is unwrapped by the reader.
    cluster.healthyPanicThreshold = common.int('healthyPanicThreshold', 50, 0, 100);
    common.done();
  }
  const ring = r.optObj('ringHashLbConfig');
  if (ring) {
    ring.ignore('hashFunction');
    const min = ring.int('minimumRingSize', 1024, 1, 8 * 1024 * 1024);
    cluster.ringHashLbConfig = { minimumRingSize: min, maximumRingSize: ring.int('maximumRingSize', 8 * 1024 * 1024, min, 8 * 1024 * 1024) };
    ring.done();
  }
  const lr = r.optObj('leastRequestLbConfig');
  if (lr) {
    cluster.leastRequestLbConfig = { choiceCount: lr.int('choiceCount', 2, 2, 100) };
    lr.done();
  }
}

/** Envoy's upstreamConnectionOptions.tcpKeepalive; present but empty means the OS's keepalive time. */
function readTcpKeepalive(r: FieldReader | undefined): number {
  const keepalive = r?.optObj('tcpKeepalive');
  let ms = 0;
  if (keepalive) {
    // keepaliveTime is whole seconds in Envoy's proto (a UInt32Value). Probe count and interval stay the OS's:
    // Node sets only the idle time.
    const seconds = keepalive.optInt('keepaliveTime', 1, 7200 * 24);
    ms = seconds === undefined ? 7_200_000 : seconds * 1000;
    keepalive.ignore('keepaliveProbes', 'keepaliveInterval');
    keepalive.done();
  }
  r?.done();
  return ms;
}

function readCommonHttpProtocolOptions(r: FieldReader, cluster: Cluster): void {
  const d = cluster.commonHttpProtocolOptions;
  cluster.commonHttpProtocolOptions = {
    idleTimeout: r.duration('idleTimeout', d.idleTimeout),
    maxRequestsPerConnection: r.int('maxRequestsPerConnection', d.maxRequestsPerConnection),
  };
  r.done();
}

function readHttp2ProtocolOptions(r: FieldReader): NonNullable<Cluster['http2ProtocolOptions']> {
  const options = { maxConcurrentStreams: r.optInt('maxConcurrentStreams', 1) };
  // Flow-control windows and keepalive pings are left to node:http2's defaults.
  r.ignore('initialStreamWindowSize', 'initialConnectionWindowSize', 'connectionKeepalive');
  r.done();
  return options;
}

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/**
 * Envoy v3's place for a cluster's upstream protocol:
 * `typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]`, with
 * `explicitHttpConfig` choosing HTTP/1.1 or HTTP/2 (Istio writes it this way).
 */
function readUpstreamHttpProtocolOptions(r: FieldReader, cluster: Cluster): void {
  const extensions = r.optObj('typedExtensionProtocolOptions');
  if (!extensions) return;
  const options = extensions.optObj(HTTP_PROTOCOL_OPTIONS);
  if (options) {
    options.ignore('@type');
    for (const unsupported of ['autoConfig', 'useDownstreamProtocolConfig']) {
      if (options.has(unsupported)) options.fail(unsupported, 'is not supported: choose the upstream protocol with explicitHttpConfig');
    }
    const explicit = options.optObj('explicitHttpConfig');
    if (explicit) {
      const h2 = explicit.optObj('http2ProtocolOptions');
      const h1 = explicit.optObj('httpProtocolOptions');
      if (h2 && h1) explicit.fail('', 'exactly one of httpProtocolOptions, http2ProtocolOptions is allowed');
      if (h2) cluster.http2ProtocolOptions = readHttp2ProtocolOptions(h2);
      else if (h1) delete cluster.http2ProtocolOptions;
      explicit.done();
    }
    const common = options.optObj('commonHttpProtocolOptions');
    if (common) readCommonHttpProtocolOptions(common, cluster);
    options.done();
  }
  extensions.done();
}

/** Reads a Cluster; Istio's DestinationRule defaults fill outlier detection when it is present. */
export function readCluster(r: FieldReader): Cluster {
  r.ignore('@type');
  const name = r.nonEmptyStr('name');
  const type = r.oneOf('type', ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS'] as const, 'STATIC');
  const cluster: Cluster = {
    name,
    type,
    connectTimeout: r.positiveDuration('connectTimeout', 10_000),
    lbPolicy: r.oneOf('lbPolicy', LB_POLICIES, 'ROUND_ROBIN'),
    healthyPanicThreshold: 50,
    ringHashLbConfig: { minimumRingSize: 1024, maximumRingSize: 8 * 1024 * 1024 },
    leastRequestLbConfig: { choiceCount: 2 },
    healthChecks: r.list('healthChecks', readHealthCheck),
    circuitBreakers: { thresholds: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 } },
    commonHttpProtocolOptions: { idleTimeout: 3_600_000, maxRequestsPerConnection: 0 },
    perConnectionBufferLimitBytes: r.int('perConnectionBufferLimitBytes', 1024 * 1024, 1024),
    tcpKeepaliveMs: readTcpKeepalive(r.optObj('upstreamConnectionOptions')),
  };
  // Envoy runs every listed check; one checker per cluster runs here, so a second is refused rather than ignored.
  if (cluster.healthChecks.length > 1) r.fail('healthChecks', 'one health check per cluster is supported');
  const proto = r.optObj('commonHttpProtocolOptions');
  if (proto) readCommonHttpProtocolOptions(proto, cluster);
  readLbConfigs(r, cluster);
  const la = r.optObj('loadAssignment');
  if (la) {
    cluster.loadAssignment = readLoadAssignment(la);
    cluster.loadAssignment.clusterName ||= name;
  }
  r.ignore('edsClusterConfig', 'dnsLookupFamily', 'metadata');
  // Upstream network filters (Istio lists its metadata exchange here): none are supported, so only an empty list loads.
  const filters = r.raw('filters');
  if (filters !== undefined && (!Array.isArray(filters) || filters.length > 0)) r.fail('filters', 'upstream network filters are not supported');
  const od = r.optObj('outlierDetection');
  if (od) {
    // Envoy's defaults, with Istio's maxEjectionPercent. Gateway-failure detection counts by default
    // but only ejects when enforcingConsecutiveGatewayFailure says so (Envoy's default is 0; Istio
    // writes 100 with consecutiveGatewayErrors).
    cluster.outlierDetection = {
      consecutive5xx: od.int('consecutive5xx', 5, 0),
      consecutiveGatewayFailure: od.int('consecutiveGatewayFailure', 5, 0),
      enforcingConsecutive5xx: od.int('enforcingConsecutive5xx', 100, 0, 100),
      enforcingConsecutiveGatewayFailure: od.int('enforcingConsecutiveGatewayFailure', 0, 0, 100),
      splitExternalLocalOriginErrors: od.bool('splitExternalLocalOriginErrors', false),
      consecutiveLocalOriginFailure: od.int('consecutiveLocalOriginFailure', 5, 0),
      enforcingConsecutiveLocalOriginFailure: od.int('enforcingConsecutiveLocalOriginFailure', 100, 0, 100),
      interval: od.positiveDuration('interval', 10_000),
      baseEjectionTime: od.positiveDuration('baseEjectionTime', 30_000),
      maxEjectionPercent: od.int('maxEjectionPercent', 10, 0, 100),
      maxEjectionTime: od.duration('maxEjectionTime', 300_000),
    };
    // Success-rate ejection is not implemented. Istio always turns it off (enforcingSuccessRate: 0);
    // a config that turns it on is refused rather than left unenforced.
    for (const field of ['enforcingSuccessRate', 'enforcingLocalOriginSuccessRate', 'enforcingFailurePercentage', 'enforcingFailurePercentageLocalOrigin']) {
      if (od.int(field, 0, 0, 100) !== 0) od.fail(field, 'success-rate and failure-percentage ejection are not supported: set it to 0');
    }
    od.ignore('successRateMinimumHosts', 'successRateRequestVolume', 'successRateStdevFactor', 'failurePercentageThreshold', 'failurePercentageMinimumHosts', 'failurePercentageRequestVolume');
    od.done();
  }
  const cb = r.optObj('circuitBreakers');
  if (cb) {
    const list = cb.list('thresholds', (t) => {
      t.ignore('priority', 'trackRemaining');
      const d = cluster.circuitBreakers.thresholds;
      const out = {
        maxConnections: t.int('maxConnections', d.maxConnections, 1),
        maxPendingRequests: t.int('maxPendingRequests', d.maxPendingRequests, 1),
        maxRequests: t.int('maxRequests', d.maxRequests, 1),
        maxRetries: t.int('maxRetries', d.maxRetries, 0),
      };
      t.done();
      return out;
    });
    if (list[0]) cluster.circuitBreakers.thresholds = list[0];
    cb.done();
  }
  const h2 = r.optObj('http2ProtocolOptions');
  if (h2) cluster.http2ProtocolOptions = readHttp2ProtocolOptions(h2);
  readUpstreamHttpProtocolOptions(r, cluster);
  const ts = r.optObj('transportSocket');
  if (ts) cluster.transportSocket = readUpstreamTls(ts);
  if (type === 'STATIC' && !cluster.loadAssignment) r.fail('loadAssignment', 'a STATIC cluster needs a loadAssignment');
  // Its endpoints would come from an EDS server, and this proxy reads its config from a file: without
  // them inline, every request would get 503.
  if (type === 'EDS' && !cluster.loadAssignment) r.fail('loadAssignment', 'an EDS cluster needs its endpoints inline here (loadAssignment): endpoints are not fetched from a control plane');
  if (type === 'STATIC' && cluster.loadAssignment) {
    for (const l of cluster.loadAssignment.endpoints)
      for (const e of l.lbEndpoints)
        if (isIP(e.endpoint.address.socketAddress.address) === 0) r.fail('loadAssignment', 'STATIC endpoints need IP addresses');
  }
  r.done();
  return cluster;
}
