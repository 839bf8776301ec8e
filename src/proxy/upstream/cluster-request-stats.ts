/**
 * A cluster's request counts in this process, for Envoy's per-cluster stats. The data path adds to
 * these fields of an object bound to the cluster; the metrics snapshot reads them.
 */
export class ClusterRequestStats {
  /** Tries sent on a connection or stream (Envoy's upstream_rq_total). */
  total = 0;
  /** Finished requests by the status they got, 100..599 (Envoy's upstream_rq_<code>). */
  readonly byStatus = new Float64Array(600);
  /** Route timeouts (upstream_rq_timeout) and per-try timeouts (upstream_rq_per_try_timeout). */
  routeTimeouts = 0;
  perTryTimeouts = 0;
}
