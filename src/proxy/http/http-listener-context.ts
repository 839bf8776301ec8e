import type { HttpConnectionManager } from '../../model/listener.js';
import type { AccessLogReads } from '../../telemetry/access-log-reads.js';
import type { ClusterLookup } from '../clusters/upstream-cluster.js';
import type { RouteTable } from '../routing/route-table.js';
import type { HttpStream } from './http-stream.js';

/** Counters of one connection manager (a listener's filter chain), summed into metrics by its stat prefix. */
export interface HttpListenerStats {
  /** The connection manager's statPrefix (Envoy's http.<stat_prefix>.* stats). */
  statPrefix: string;
  downstreamConnections: number;
  downstreamConnectionsActive: number;
  downstreamRequests: number;
  /** Streams started and not finished yet. */
  requestsActive: number;
  /** Finished streams by response status class: index 1..5 for 1xx..5xx, 0 for none sent. */
  readonly responsesByClass: Float64Array;
  protocolErrors: number;
  /** The fault filter's (Envoy's http.<prefix>.fault.*): requests delayed, aborted, faults active now, and faults not injected for max_active_faults. */
  faultDelaysInjected: number;
  faultAbortsInjected: number;
  faultsActive: number;
  faultsOverflow: number;
}

/** Zeroed stats for a connection manager with `statPrefix`. */
export function newHttpListenerStats(statPrefix: string): HttpListenerStats {
  return { statPrefix, downstreamConnections: 0, downstreamConnectionsActive: 0, downstreamRequests: 0, requestsActive: 0, responsesByClass: new Float64Array(6), protocolErrors: 0, faultDelaysInjected: 0, faultAbortsInjected: 0, faultsActive: 0, faultsOverflow: 0 };
}

/** What a stream needs from the listener it arrived on; swapped as a whole on config changes. */
export interface HttpListenerContext {
  readonly listenerName: string;
  /** The listener takes traffic into its workload (metrics report as destination). */
  readonly inbound: boolean;
  readonly hcm: HttpConnectionManager;
  /** What the connection manager's access log formats read beyond the record: streams keep only that. */
  readonly accessLogReads: AccessLogReads;
  /** The connection manager's http_filters include the CORS filter: without it Envoy applies no route's CORS policy. */
  readonly runsCorsFilter: boolean;
  /** The listener's perConnectionBufferLimitBytes: bounds the request body a stream keeps for retries, as in Envoy. */
  readonly bufferLimitBytes: number;
  readonly clusters: ClusterLookup;
  readonly stats: HttpListenerStats;
  /** The current route table; undefined while an RDS route configuration has not arrived. */
  routeTable(): RouteTable | undefined;
  /** A new request id: a UUID (hex digits and dashes; the access log writes it unescaped). */
  newRequestId(): string;
  /** Adds or continues trace headers (traceparent, B3) on the upstream header list; returns the traceparent sent (from checked hex ids). */
  propagateTrace(headers: string[], sampleNewTrace: boolean): string | undefined;
  /**
   * Envoy's drainClose(): true while the proxy fails health checks (/healthcheck/fail) or this listener
   * drains (/drain_listeners?graceful). An HTTP/1.1 response then says Connection: close, and an
   * HTTP/2 connection gets GOAWAY.
   */
  drainClose(): boolean;
  /** Metrics and access log for a finished stream. */
  onStreamComplete(stream: HttpStream): void;
}
