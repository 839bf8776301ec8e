/**
 * The proxy's own health metrics, named bulwark_* and documented in docs/metrics.md (with the
 * Envoy stat each one corresponds to). The data path holds the bound children and touches numbers only.
 */
import type { Counter } from './counter.js';
import type { Gauge } from './gauge.js';
import type { MetricsRegistry } from './metrics-registry.js';

/** The circuit-breaker thresholds of Envoy's CircuitBreakers, as overflow reasons. */
export type OverflowResource = 'connections' | 'pending_requests' | 'requests' | 'retries';

/** Why a listener refused a TLS connection. */
export type ListenerTlsFailure = 'handshake' | 'peer_verification' | 'no_filter_chain_match';

/** The label that names the upstream cluster in the per-cluster families. */
export const CLUSTER_LABEL = 'cluster';

/** Bound metrics of one upstream cluster. */
export interface ClusterMetrics {
  /** Open connections to the cluster's endpoints (Envoy: upstream_cx_active). */
  readonly connectionsActive: Gauge;
  /** Connections ever opened (Envoy: upstream_cx_total). */
  readonly connectionsTotal: Counter;
  /** Connection attempts that failed or timed out (Envoy: upstream_cx_connect_fail + _timeout). */
  readonly connectFailures: Counter;
  /** Requests waiting for a connection (Envoy: upstream_rq_pending_active). */
  readonly pendingRequests: Gauge;
  /** Retries sent (Envoy: upstream_rq_retry). */
  readonly retries: Counter;
  /** Interim (1xx) responses dropped past the per-request bound. */
  readonly interimResponsesDropped: Counter;
  /** Hosts ejected by outlier detection (Envoy: outlier_detection.ejections_enforced_total). */
  readonly outlierEjections: Counter;
  /** Hosts ejected right now (Envoy: outlier_detection.ejections_active). */
  readonly outlierEjectedHosts: Gauge;
  /** Requests refused by a circuit-breaker threshold, per threshold (Envoy: upstream_cx_overflow, upstream_rq_pending_overflow, ...). */
  readonly overflows: Readonly<Record<OverflowResource, Counter>>;
}

/** The proxy health families, and per-cluster bound children. */
export class ProxyMetrics {
  /** Downstream connections open on this worker (one series per worker). */
  readonly downstreamConnectionsActive: Gauge;
  /** Downstream connections accepted by this worker. */
  readonly downstreamConnectionsTotal: Counter;
  /** Configuration snapshots this process applied. */
  readonly configReloadsAccepted: Counter;
  /** Configuration snapshots (or resources) this process rejected and kept the last good one. */
  readonly configReloadsRejected: Counter;
  /** 1 while keyd answers signing requests from this worker, 0 when it does not. */
  readonly keydAvailable: Gauge;
  /** TLS handshakes that failed because keyd did not sign (each fails closed). */
  readonly keydSigningFailures: Counter;
  /** Access log lines dropped because the sink was slow or gone. */
  readonly accessLogDroppedLines: Counter;
  private readonly clusters = new Map<string, ClusterMetrics>();
  private readonly tlsFailures: ReturnType<MetricsRegistry['counter']>;
  private readonly families: ReturnType<typeof clusterFamilies>;

  /** Registers the families in `registry`. */
  constructor(registry: MetricsRegistry) {
    this.families = clusterFamilies(registry);
    const perWorker = { merge: 'per-worker' } as const;
    this.downstreamConnectionsActive = registry.gauge('bulwark_worker_active_connections', 'Downstream connections open on the worker.', [], perWorker).bind();
    this.downstreamConnectionsTotal = registry.counter('bulwark_worker_connections_total', 'Downstream connections accepted by the worker.', [], perWorker).bind();
    const reloads = registry.counter('bulwark_config_reloads_total', 'Configuration updates applied (accepted) or refused (rejected) by the process.', ['result'], perWorker);
    this.configReloadsAccepted = reloads.bind(['accepted']);
    this.configReloadsRejected = reloads.bind(['rejected']);
    this.keydAvailable = registry.gauge('bulwark_keyd_available', 'Whether keyd answers signing requests from the worker (1) or not (0).', [], perWorker).bind();
    this.keydSigningFailures = registry.counter('bulwark_keyd_signing_failures_total', 'TLS handshakes the worker failed closed because key custody (keyd) did not sign.', [], perWorker).bind();
    this.tlsFailures = registry.counter(
      'bulwark_listener_tls_failures_total',
      'TLS connections a listener refused: failed handshakes, peer certificates refused, no filter chain for the server name (Envoy: ssl.connection_error, ssl.fail_verify_*, no_filter_chain_match).',
      ['listener', 'reason'],
    );
    this.accessLogDroppedLines = registry.counter('bulwark_access_log_dropped_lines_total', 'Access log lines dropped because the sink was slow or gone.').bind();
  }

  /** Counts a refused TLS connection (rare: binding per call is fine). */
  listenerTlsFailure(listener: string, reason: ListenerTlsFailure): void {
    this.tlsFailures.bind([listener, reason]).inc();
  }

  /** The bound metrics of `cluster`, created on first use; keep the result with the cluster. */
  cluster(cluster: string): ClusterMetrics {
    let m = this.clusters.get(cluster);
    if (m === undefined) {
      m = this.bindCluster(cluster);
      this.clusters.set(cluster, m);
    }
    return m;
  }

  /**
   * Drops the metrics of clusters a config no longer has, as Envoy drops a removed cluster's stats:
   * a cluster added again later starts from zero.
   */
  keepClusters(names: ReadonlySet<string>): void {
    for (const name of this.clusters.keys()) if (!names.has(name)) this.clusters.delete(name);
    for (const family of Object.values(this.families)) family.keepOnly(CLUSTER_LABEL, names);
  }

  private bindCluster(cluster: string): ClusterMetrics {
    const f = this.families;
    const c = [cluster];
    return {
      connectionsActive: f.connectionsActive.bind(c),
      connectionsTotal: f.connectionsTotal.bind(c),
      connectFailures: f.connectFailures.bind(c),
      pendingRequests: f.pendingRequests.bind(c),
      retries: f.retries.bind(c),
      interimResponsesDropped: f.interimResponsesDropped.bind(c),
      outlierEjections: f.outlierEjections.bind(c),
      outlierEjectedHosts: f.outlierEjectedHosts.bind(c),
      overflows: {
        connections: f.overflows.bind([cluster, 'connections']),
        pending_requests: f.overflows.bind([cluster, 'pending_requests']),
        requests: f.overflows.bind([cluster, 'requests']),
        retries: f.overflows.bind([cluster, 'retries']),
      },
    };
  }
}

/** Per-cluster families are registered up front so they show (empty) before the first cluster exists. */
function clusterFamilies(r: MetricsRegistry) {
  const c = [CLUSTER_LABEL];
  return {
    connectionsActive: r.gauge('bulwark_upstream_connections_active', 'Open connections to the cluster.', c),
    connectionsTotal: r.counter('bulwark_upstream_connections_total', 'Connections opened to the cluster.', c),
    connectFailures: r.counter('bulwark_upstream_connect_failures_total', 'Connection attempts to the cluster that failed or timed out.', c),
    pendingRequests: r.gauge('bulwark_upstream_pending_requests', 'Requests waiting for a connection to the cluster.', c),
    retries: r.counter('bulwark_upstream_retries_total', 'Retries sent to the cluster.', c),
    interimResponsesDropped: r.counter('bulwark_upstream_interim_responses_dropped_total', 'Interim (1xx) responses from the cluster dropped past the bound per request.', c),
    outlierEjections: r.counter('bulwark_outlier_ejections_total', 'Hosts of the cluster ejected by outlier detection.', c),
    // Workers share ejections, so each reports the same hosts: the primary keeps the largest count.
    outlierEjectedHosts: r.gauge('bulwark_outlier_ejected_hosts', 'Hosts of the cluster ejected right now.', c, { merge: 'max' }),
    overflows: r.counter('bulwark_upstream_overflows_total', 'Requests or connections refused by a circuit-breaker threshold.', [CLUSTER_LABEL, 'resource']),
  };
}
