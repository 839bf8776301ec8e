/**
 * Request and connection counts per cluster, connection manager and listener, the quantities behind
 * Envoy's cluster.<name>.upstream_rq_*, http.<prefix>.downstream_* and listener.<address>.downstream_cx_*
 * stats (the admin server derives those from these families; docs/metrics.md maps them). The data path
 * counts in plain fields bound to its clusters and listeners; ProxyHost copies them in here when a
 * snapshot is taken (proxy/traffic-snapshot.ts), so binding a series costs nothing per request.
 */
import type { CounterFamily } from './counter.js';
import type { GaugeFamily } from './gauge.js';
import type { MetricsRegistry } from './metrics-registry.js';
import { CLUSTER_LABEL } from './proxy-metrics.js';

/** The label naming a connection manager by its statPrefix. */
export const STAT_PREFIX_LABEL = 'stat_prefix';
/** The label naming a listener. */
export const LISTENER_LABEL = 'listener';

/** Response classes as the responses family labels them: index 0 is a stream that got no response. */
export const RESPONSE_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** The families; their counters mirror data-path totals, their gauges live figures. */
export class TrafficMetrics {
  readonly upstreamRequests: CounterFamily;
  readonly upstreamRequestsActive: GaugeFamily;
  readonly upstreamResponses: CounterFamily;
  readonly upstreamTimeouts: CounterFamily;
  readonly clusterHosts: GaugeFamily;
  readonly clusterHealthyHosts: GaugeFamily;
  readonly httpRequests: CounterFamily;
  readonly httpRequestsActive: GaugeFamily;
  readonly httpResponses: CounterFamily;
  readonly httpConnections: CounterFamily;
  readonly httpConnectionsActive: GaugeFamily;
  readonly listenerConnections: CounterFamily;
  readonly listenerConnectionsActive: GaugeFamily;
  readonly faultDelays: CounterFamily;
  readonly faultAborts: CounterFamily;
  readonly faultsOverflow: CounterFamily;
  readonly faultsActive: GaugeFamily;

  constructor(r: MetricsRegistry) {
    const c = [CLUSTER_LABEL];
    const h = [STAT_PREFIX_LABEL];
    const l = [LISTENER_LABEL];
    // Workers share a cluster's hosts and their health, so each reports the same count: the primary keeps the largest.
    const shared = { merge: 'max' } as const;
    this.upstreamRequests = r.counter('bulwark_upstream_requests_total', 'Requests (each try) sent to the cluster on a connection or stream.', c);
    this.upstreamRequestsActive = r.gauge('bulwark_upstream_requests_active', 'Requests to the cluster sent and not answered yet.', c);
    this.upstreamResponses = r.counter('bulwark_upstream_responses_total', 'Requests routed to the cluster, by the status the router charged it: the upstream\'s final response, or the router\'s own reply.', [CLUSTER_LABEL, 'response_code']);
    this.upstreamTimeouts = r.counter('bulwark_upstream_timeouts_total', 'Requests to the cluster that timed out: the route timeout, or one try\'s per-try timeout.', [CLUSTER_LABEL, 'timeout']);
    this.clusterHosts = r.gauge('bulwark_cluster_hosts', 'Hosts of the cluster.', c, shared);
    this.clusterHealthyHosts = r.gauge('bulwark_cluster_healthy_hosts', 'Hosts of the cluster that pass health checks.', c, shared);
    this.httpRequests = r.counter('bulwark_http_requests_total', 'Requests a connection manager received.', h);
    this.httpRequestsActive = r.gauge('bulwark_http_requests_active', 'Requests a connection manager is serving.', h);
    this.httpResponses = r.counter('bulwark_http_responses_total', 'Requests a connection manager finished, by the class of the status sent (none: no response).', [STAT_PREFIX_LABEL, 'response_code_class']);
    this.httpConnections = r.counter('bulwark_http_connections_total', 'Connections a connection manager served.', h);
    this.httpConnectionsActive = r.gauge('bulwark_http_connections_active', 'Connections a connection manager serves now.', h);
    this.listenerConnections = r.counter('bulwark_listener_connections_total', 'Connections the listener accepted.', l);
    this.listenerConnectionsActive = r.gauge('bulwark_listener_connections_active', 'Connections of the listener open now.', l);
    this.faultDelays = r.counter('bulwark_http_fault_delays_injected_total', 'Requests the fault filter delayed.', h);
    this.faultAborts = r.counter('bulwark_http_fault_aborts_injected_total', 'Requests the fault filter aborted.', h);
    this.faultsOverflow = r.counter('bulwark_http_faults_overflow_total', 'Faults not injected because max_active_faults were active.', h);
    this.faultsActive = r.gauge('bulwark_http_faults_active', 'Requests the fault filter holds or answers now.', h);
  }

  /** Drops the series of clusters a config no longer has (see ProxyMetrics.keepClusters). */
  keepClusters(names: ReadonlySet<string>): void {
    for (const f of [this.upstreamRequests, this.upstreamRequestsActive, this.upstreamResponses, this.upstreamTimeouts, this.clusterHosts, this.clusterHealthyHosts]) {
      f.keepOnly(CLUSTER_LABEL, names);
    }
  }
}
