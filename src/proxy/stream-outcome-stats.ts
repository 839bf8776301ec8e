import type { HttpListenerStats } from './http/http-listener-context.js';
import type { HttpStream } from './http/http-stream.js';

/**
 * Counts a finished stream where Envoy counts its outcome: the class of the status sent downstream
 * (http.<prefix>.downstream_rq_Nxx) and the status the router charged to the cluster
 * (cluster.<name>.upstream_rq_<code>). Both are additions to arrays bound at config time.
 */
export function countStreamOutcome(stream: HttpStream, stats: HttpListenerStats): void {
  const status = stream.responseStatus;
  stats.requestsActive--;
  stats.responsesByClass[status >= 100 && status < 600 ? (status / 100) | 0 : 0]!++;
  const routed = stream.routedStatus;
  if (routed >= 100 && routed < 600 && stream.cluster !== undefined) stream.cluster.requestStats.byStatus[routed]!++;
}
