/**
 * Envoy's response flags and response code details: the short codes that explain how a request
 * ended, shared by the access log (response_flags, response_code_details) and istio_requests_total
 * (response_flags). https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage
 */

/** Envoy's short response flags; "-" when none applies. */
export const ResponseFlag = {
  none: '-',
  /** No healthy upstream host in the cluster. */
  noHealthyUpstream: 'UH',
  /** Upstream connection failure. */
  upstreamConnectionFailure: 'UF',
  /** Upstream overflow: a circuit breaker refused the request. */
  upstreamOverflow: 'UO',
  /** No route matched. */
  noRouteFound: 'NR',
  /** The route's cluster does not exist. */
  noClusterFound: 'NC',
  /** Retries were exhausted. */
  upstreamRetryLimitExceeded: 'URX',
  /** The downstream connection ended mid-stream. */
  downstreamConnectionTermination: 'DC',
  /** The upstream request timed out. */
  upstreamRequestTimeout: 'UT',
  /** The upstream reset the stream. */
  upstreamRemoteReset: 'UR',
  /** The upstream connection ended mid-stream. */
  upstreamConnectionTermination: 'UC',
  /** The stream idle timeout fired. */
  streamIdleTimeout: 'SI',
  /** The downstream sent something that is not HTTP. */
  downstreamProtocolError: 'DPE',
  /** The upstream answered something that is not HTTP. */
  upstreamProtocolError: 'UPE',
  /** A fault filter injected a delay. */
  delayInjected: 'DI',
  /** A fault filter injected an abort. */
  faultInjected: 'FI',
} as const;

/** Envoy-style response code details: the reason behind a status, above all 502/503/504. */
export const ResponseCodeDetails = {
  /** The status came from the upstream. */
  viaUpstream: 'via_upstream',
  /** A direct_response or redirect route answered. */
  directResponse: 'direct_response',
  routeNotFound: 'route_not_found',
  clusterNotFound: 'cluster_not_found',
  /** 503: no healthy endpoint to send to. */
  noHealthyUpstream: 'no_healthy_upstream',
  /** 504: the route timeout fired before the upstream answered. */
  responseTimeout: 'response_timeout',
  /** 504: the per-try timeout fired on the last try. */
  upstreamPerTryTimeout: 'upstream_per_try_timeout',
  /**
   * 502/503: the upstream stream ended before a response started (a connect failure, a circuit
   * breaker, a reset, a protocol error), followed by Envoy's reset reason in braces, e.g.
   * `upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}`.
   */
  upstreamResetBeforeResponse: 'upstream_reset_before_response_started',
  /** The upstream stream ended after the response started: `upstream_reset_after_response_started{connection_termination}`. */
  upstreamResetAfterResponse: 'upstream_reset_after_response_started',
  /** 403 from the RBAC filter (AuthorizationPolicy). */
  rbacAccessDenied: 'rbac_access_denied',
  /** 408: the request head did not arrive in time. */
  requestHeadersTimeout: 'request_headers_timeout',
  /** 400/431: the downstream request was malformed or too large. */
  downstreamProtocolError: 'downstream_protocol_error',
  /** The downstream went away before the response ended. */
  downstreamRemoteDisconnect: 'downstream_remote_disconnect',
} as const;
