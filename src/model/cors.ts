import type { StringMatcher } from './tls.js';

/** Envoy's FractionalPercent: numerator out of 100, 10 000 or 1 000 000. */
export interface FractionalPercent {
  numerator: number;
  denominator: 100 | 10_000 | 1_000_000;
}

/**
 * Envoy's envoy.config.route.v3.CorsPolicy, as the CORS filter (envoy.filters.http.cors) reads it.
 * Strings are sent as configured ('' = not set); an unset wrapped bool or percent is undefined, so a
 * route's policy can leave a field to its virtual host's, as Envoy resolves them.
 */
export interface CorsPolicy {
  allowOriginStringMatch: StringMatcher[];
  allowMethods: string;
  allowHeaders: string;
  exposeHeaders: string;
  maxAge: string;
  allowCredentials?: boolean;
  allowPrivateNetworkAccess?: boolean;
  forwardNotMatchingPreflights?: boolean;
  /** The share of requests the policy is enforced on; unset = all. */
  filterEnabled?: FractionalPercent;
  /** The share of requests the policy is evaluated on without being enforced; unset = none. */
  shadowEnabled?: FractionalPercent;
}
