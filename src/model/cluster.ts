import type { Address } from './address.js';
import type { Milliseconds } from './duration.js';
import type { UpstreamTlsContext } from './tls.js';

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';

export interface LbEndpoint {
  /** `hostname`: the name autoHostRewrite sends as Host (Envoy's Endpoint.hostname). */
  endpoint: { address: Address; hostname?: string };
  healthStatus: HealthStatus;
  loadBalancingWeight: number;
}

export interface LocalityLbEndpoints {
  locality?: { region?: string; zone?: string; subZone?: string };
  lbEndpoints: LbEndpoint[];
  priority: number;
}

export interface ClusterLoadAssignment {
  clusterName: string;
  endpoints: LocalityLbEndpoints[];
}

export interface HttpHealthCheck {
  path: string;
  host?: string;
  /** Half-open ranges [start, end); default [[200, 201)]. */
  expectedStatuses: Array<{ start: number; end: number }>;
}

export interface HealthCheck {
  timeout: Milliseconds;
  interval: Milliseconds;
  unhealthyThreshold: number;
  healthyThreshold: number;
  httpHealthCheck?: HttpHealthCheck;
  tcpHealthCheck?: Record<string, never>;
}

/** Envoy's OutlierDetection with Istio's defaults applied by the loader. */
export interface OutlierDetection {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  /** Percent chance that a tripped threshold ejects (Envoy's enforcing_* fields): 0 turns a detector off. */
  enforcingConsecutive5xx: number;
  enforcingConsecutiveGatewayFailure: number;
  /**
   * Local-origin failures (connect failure, reset, timeout) counted on their own instead of as 503s
   * (splitExternalLocalOriginErrors), with their own threshold and enforcement.
   */
  splitExternalLocalOriginErrors: boolean;
  consecutiveLocalOriginFailure: number;
  enforcingConsecutiveLocalOriginFailure: number;
  interval: Milliseconds;
  baseEjectionTime: Milliseconds;
  maxEjectionPercent: number;
  /** Upper bound of a host's ejection time as repeated ejections multiply it (Envoy: 300 s). */
  maxEjectionTime: Milliseconds;
}

export interface CircuitBreakerThresholds {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH';

export interface Cluster {
  name: string;
  /**
   * STATIC endpoints are IP addresses. A DNS cluster's endpoints name hosts, resolved on every new
   * connection, so each endpoint is one host whatever its name resolves to: the same for STRICT_DNS
   * and LOGICAL_DNS here.
   */
  type: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS';
  connectTimeout: Milliseconds;
  lbPolicy: LbPolicy;
  /** Below this percentage of available hosts, balance across all hosts (Envoy's panic mode); 0 disables. */
  healthyPanicThreshold: number;
  ringHashLbConfig: { minimumRingSize: number; maximumRingSize: number };
  leastRequestLbConfig: { choiceCount: number };
  loadAssignment?: ClusterLoadAssignment;
  healthChecks: HealthCheck[];
  outlierDetection?: OutlierDetection;
  circuitBreakers: { thresholds: CircuitBreakerThresholds };
  /** Present when the upstream speaks HTTP/2 (required for gRPC). */
  http2ProtocolOptions?: { maxConcurrentStreams?: number };
  commonHttpProtocolOptions: { idleTimeout: Milliseconds; maxRequestsPerConnection: number };
  transportSocket?: UpstreamTlsContext;
  perConnectionBufferLimitBytes: number;
  /** upstreamConnectionOptions.tcpKeepalive.keepaliveTime as ms: idle time before TCP keepalive probes; 0 = off. */
  tcpKeepaliveMs: Milliseconds;
}
