import type { HttpConnectionManager } from '../../model/listener.js';
import type { AccessLogReads } from '../../telemetry/access-log-reads.js';
import type { ClusterLookup } from '../clusters/upstream-cluster.js';
import type { RouteTable } from '../routing/route-table.js';
import type { HttpStream } from './http-stream.js';

/** Counters for the proxy's own health, summed into metrics. */
export interface HttpListenerStats {
  downstreamConnections: number;
  downstreamRequests: number;
  protocolErrors: number;
}

/** What a stream needs from the listener it arrived on; swapped as a whole on config changes. */
export interface HttpListenerContext {
  readonly listenerName: string;
  /** The listener takes traffic into its workload (metrics report as destination). */
  readonly inbound: boolean;
  readonly hcm: HttpConnectionManager;
  /** What the connection manager's access log formats read beyond the record: streams keep only that. */
  readonly accessLogReads: AccessLogReads;
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
