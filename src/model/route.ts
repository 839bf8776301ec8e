import type { CorsPolicy } from './cors.js';
import type { Milliseconds } from './duration.js';
import type { PerFilterFault } from './fault.js';
import type { StringMatcher } from './tls.js';

export interface HeaderValue {
  key: string;
  value: string;
}

/**
 * Envoy's HeaderValueOption; appendAction defaults to APPEND_IF_EXISTS_OR_ADD. The value may hold
 * command operators (%REQ(x-request-id)%, %DOWNSTREAM_REMOTE_ADDRESS%, ...); one that comes out empty
 * is not added unless keepEmptyValue.
 */
export interface HeaderValueOption {
  header: HeaderValue;
  appendAction: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD';
  keepEmptyValue: boolean;
}

export interface HeaderMatcher {
  /** Lower-cased header name; ":authority", ":method", ":path", ":scheme" address the pseudo-headers. */
  name: string;
  stringMatch?: StringMatcher;
  presentMatch?: boolean;
  invertMatch: boolean;
}

export interface QueryParameterMatcher {
  name: string;
  stringMatch?: StringMatcher;
  presentMatch?: boolean;
}

/** Exactly one of prefix / path / safeRegex / pathSeparatedPrefix is set. */
export interface RouteMatch {
  prefix?: string;
  path?: string;
  safeRegex?: { regex: string };
  pathSeparatedPrefix?: string;
  caseSensitive: boolean;
  headers: HeaderMatcher[];
  queryParameters: QueryParameterMatcher[];
  /** Envoy's match.grpc: only gRPC requests (content-type application/grpc) match. */
  grpc: boolean;
}

export interface WeightedCluster {
  name: string;
  weight: number;
}

export interface RetryBackOff {
  baseInterval: Milliseconds;
  maxInterval: Milliseconds;
}

/** The retryOn conditions the proxy implements (Envoy's names; the gRPC ones act on grpc-status). */
export const RETRY_ON_CONDITIONS: ReadonlySet<string> = new Set([
  '5xx', 'gateway-error', 'connect-failure', 'reset', 'retriable-status-codes', 'refused-stream',
  'retriable-4xx', 'unavailable', 'cancelled', 'deadline-exceeded', 'resource-exhausted', 'internal',
]);

/**
 * Envoy's RetryPolicy; retryOn is the comma-separated list Envoy documents (5xx, gateway-error, ...).
 * RETRY_POLICY_DEFAULTS below holds Envoy's defaults for the fields a config may leave out.
 */
export interface RetryPolicy {
  retryOn: string[];
  numRetries: number;
  perTryTimeout?: Milliseconds;
  retriableStatusCodes: number[];
  retryBackOff: RetryBackOff;
  /** Envoy's previous_hosts retry host predicate (Istio sets it): a retry prefers a host not yet tried. */
  avoidPreviousHosts: boolean;
  /** Host picks a retry may make looking for such a host before it takes the last pick (hostSelectionRetryMaxAttempts). */
  hostSelectionRetryMaxAttempts: number;
}

/** A policy that retries nothing, with Envoy's defaults (25 ms back-off base, ten times that at most). */
export const RETRY_POLICY_DEFAULTS: Readonly<RetryPolicy> = Object.freeze({
  retryOn: [],
  numRetries: 0,
  retriableStatusCodes: [],
  retryBackOff: { baseInterval: 25, maxInterval: 250 },
  avoidPreviousHosts: false,
  hostSelectionRetryMaxAttempts: 1,
});

export interface HashPolicy {
  header?: { headerName: string };
  connectionProperties?: { sourceIp: boolean };
}

export interface RouteAction {
  cluster?: string;
  weightedClusters?: { clusters: WeightedCluster[] };
  prefixRewrite?: string;
  regexRewrite?: { pattern: { regex: string }; substitution: string };
  hostRewriteLiteral?: string;
  autoHostRewrite: boolean;
  /** Whole-request timeout; 0 disables. Envoy's default is 15 s. */
  timeout: Milliseconds;
  idleTimeout?: Milliseconds;
  /** Envoy's route maxStreamDuration; absent when the route does not set it. */
  maxStreamDuration?: MaxStreamDuration;
  retryPolicy?: RetryPolicy;
  hashPolicy: HashPolicy[];
  /** Envoy's deprecated route.cors: read only when neither the route nor its virtual host has a typed per-filter CORS policy. */
  cors?: CorsPolicy;
}

/**
 * A hard limit on the whole exchange (Envoy's MaxStreamDuration): maxStreamDuration (0 = none), and,
 * when grpcTimeoutHeaderMax is set, a gRPC request's own grpc-timeout (less grpcTimeoutHeaderOffset),
 * capped by grpcTimeoutHeaderMax unless that is 0. Istio sets grpcTimeoutHeaderMax 0 on every route.
 */
export interface MaxStreamDuration {
  maxStreamDuration: Milliseconds;
  grpcTimeoutHeaderMax?: Milliseconds;
  grpcTimeoutHeaderOffset: Milliseconds;
}

export interface RedirectAction {
  schemeRedirect?: string;
  httpsRedirect: boolean;
  hostRedirect?: string;
  portRedirect?: number;
  pathRedirect?: string;
  prefixRewrite?: string;
  /** HTTP status: 301, 302, 303, 307 or 308. */
  responseCode: number;
  stripQuery: boolean;
}

export interface DirectResponseAction {
  status: number;
  body?: { inlineString: string };
}

/** Exactly one of route / redirect / directResponse is set. */
export interface Route {
  name?: string;
  match: RouteMatch;
  route?: RouteAction;
  redirect?: RedirectAction;
  directResponse?: DirectResponseAction;
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[];
  /** typedPerFilterConfig["envoy.filters.http.cors"]: the route's CORS policy, over its virtual host's field by field. */
  corsPolicy?: CorsPolicy;
  /** typedPerFilterConfig's fault filter entry: replaces the filter's own config for this route. */
  fault?: PerFilterFault;
}

export interface VirtualHost {
  name: string;
  /** Exact names, "*", "*.suffix" or "prefix.*"; an optional ":port" must match too. */
  domains: string[];
  routes: Route[];
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[];
  retryPolicy?: RetryPolicy;
  /** Send x-envoy-attempt-count (1 on the first try, 2 on the first retry, ...) upstream. */
  includeRequestAttemptCount: boolean;
  /** typedPerFilterConfig["envoy.filters.http.cors"]. */
  corsPolicy?: CorsPolicy;
  /** Envoy's deprecated virtual host cors field (see RouteAction.cors). */
  cors?: CorsPolicy;
  /** typedPerFilterConfig's fault filter entry, for routes that have none of their own. */
  fault?: PerFilterFault;
}

export interface RouteConfiguration {
  name: string;
  virtualHosts: VirtualHost[];
  /** Header names (lower-case) removed from requests that are not internal, before routing (Envoy's internalOnlyHeaders). */
  internalOnlyHeaders: string[];
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[];
  /** typedPerFilterConfig's fault filter entry, for virtual hosts and routes that have none of their own. */
  fault?: PerFilterFault;
}
