/**
 * Envoy's CORS filter (envoy.filters.http.cors, source/extensions/filters/http/cors/cors_filter.cc) for
 * one route: its policies resolved once at config time, then per request what decodeHeaders and
 * encodeHeaders do. A preflight from an allowed origin is answered here; an actual request's response
 * gets the Access-Control-Allow-* headers.
 */
import type { CorsPolicy, FractionalPercent } from '../../model/cors.js';
import type { Route, VirtualHost } from '../../model/route.js';
import type { RegexEngine } from '../routing/regex-engine.js';
import { CompiledStringMatcher } from '../routing/string-matcher.js';
import { headerValue, type RequestHead } from './request-head.js';

/** What the filter reads and latches on a stream. */
export interface CorsStream {
  readonly head: RequestHead;
  /** The allowed Origin of a request the policy is enforced on: the response carries the CORS headers. */
  corsOrigin: string | undefined;
}

/** Envoy's response_code_details for a preflight answered by the filter. */
export const CORS_RESPONSE_DETAILS = 'cors_response';

export class CompiledCorsPolicy {
  private readonly origins: CompiledStringMatcher[];
  /** A matcher accepts "*": Envoy then allows every origin. */
  private readonly anyOrigin: boolean;
  private readonly allowMethods: string;
  private readonly allowHeaders: string;
  private readonly exposeHeaders: string;
  private readonly maxAge: string;
  private readonly allowCredentials: boolean;
  private readonly allowPrivateNetworkAccess: boolean;
  private readonly forwardNotMatchingPreflights: boolean;
  private readonly filterEnabled: FractionalPercent | undefined;

  /** `policies` most specific first (the route's, then its virtual host's): each field comes from the first that sets it. */
  constructor(policies: readonly CorsPolicy[], engine: RegexEngine) {
    const first = <T>(read: (p: CorsPolicy) => T | undefined, unset: T): T => {
      for (const p of policies) {
        const v = read(p);
        if (v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0)) return v;
      }
      return unset;
    };
    this.origins = first((p) => p.allowOriginStringMatch, []).map((m) => new CompiledStringMatcher(m, engine));
    this.anyOrigin = this.origins.some((m) => m.matches('*'));
    this.allowMethods = first((p) => p.allowMethods, '');
    this.allowHeaders = first((p) => p.allowHeaders, '');
    this.exposeHeaders = first((p) => p.exposeHeaders, '');
    this.maxAge = first((p) => p.maxAge, '');
    this.allowCredentials = first((p) => p.allowCredentials, false);
    this.allowPrivateNetworkAccess = first((p) => p.allowPrivateNetworkAccess, false);
    this.forwardNotMatchingPreflights = first((p) => p.forwardNotMatchingPreflights, true);
    // From the most specific policy alone, as Envoy reads policies_[0]. Its shadow_enabled only
    // counts origins (cors.origin_valid/invalid), statistics not kept here: it changes no response.
    this.filterEnabled = policies[0]!.filterEnabled;
  }

  /**
   * Envoy's decodeHeaders: latches the allowed origin on the stream and returns the headers of the
   * local 200 answer to a preflight, or undefined when the request goes on to the router.
   */
  decode(stream: CorsStream): string[] | undefined {
    const headers = stream.head.headers;
    const origin = headerValue(headers, 'origin');
    if (origin === undefined || origin === '') return undefined;
    // Unset, filter_enabled is 100%. A request it leaves out gets no CORS handling at all.
    if (!(this.filterEnabled === undefined || sampled(this.filterEnabled))) return undefined;
    const allowed = this.isOriginAllowed(origin);
    if (allowed) stream.corsOrigin = origin;
    if (stream.head.method !== 'OPTIONS') return undefined;
    const requestMethod = headerValue(headers, 'access-control-request-method');
    if (requestMethod === undefined || requestMethod === '') return undefined;
    if (!allowed && this.forwardNotMatchingPreflights) return undefined;
    const out: string[] = [];
    if (allowed) out.push('access-control-allow-origin', origin);
    if (this.allowCredentials) out.push('access-control-allow-credentials', 'true');
    if (this.allowMethods !== '') out.push('access-control-allow-methods', this.allowMethods === '*' ? requestMethod : this.allowMethods);
    if (this.allowHeaders !== '') {
      out.push('access-control-allow-headers', this.allowHeaders === '*' ? (headerValue(headers, 'access-control-request-headers') ?? '') : this.allowHeaders);
    }
    if (this.maxAge !== '') out.push('access-control-max-age', this.maxAge);
    if (this.allowPrivateNetworkAccess && headerValue(headers, 'access-control-request-private-network') === 'true') {
      out.push('access-control-allow-private-network', 'true');
    }
    return out;
  }

  /** Envoy's encodeHeaders for a request from an allowed origin: sets (replaces) the response's CORS headers. */
  encode(response: string[], origin: string): void {
    setHeader(response, 'access-control-allow-origin', origin);
    if (this.allowCredentials) setHeader(response, 'access-control-allow-credentials', 'true');
    if (this.exposeHeaders !== '') setHeader(response, 'access-control-expose-headers', this.exposeHeaders);
  }

  private isOriginAllowed(origin: string): boolean {
    if (this.anyOrigin) return true;
    for (const m of this.origins) if (m.matches(origin)) return true;
    return false;
  }
}

/**
 * The route's CORS policy as Envoy's filter finds it: the typed per-filter configs of the route and its
 * virtual host; only when neither has one, the deprecated route.cors and virtual host cors. Undefined
 * when there is none, or the route is a redirect or direct response (the filter skips those).
 */
export function compileCorsPolicy(route: Route, vh: VirtualHost, engine: RegexEngine): CompiledCorsPolicy | undefined {
  if (route.route === undefined) return undefined;
  let policies = [route.corsPolicy, vh.corsPolicy].filter((p) => p !== undefined);
  if (policies.length === 0) policies = [route.route.cors, vh.cors].filter((p) => p !== undefined);
  return policies.length === 0 ? undefined : new CompiledCorsPolicy(policies, engine);
}

/** Envoy's evaluateFractionalPercent: a uniform draw below numerator out of denominator. */
function sampled(p: FractionalPercent): boolean {
  if (p.numerator >= p.denominator) return true;
  return p.numerator > 0 && Math.floor(Math.random() * p.denominator) < p.numerator;
}

/** Replaces every value of `name` with one, as Envoy's setInline does. */
function setHeader(headers: string[], name: string, value: string): void {
  let at = -1;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== name) continue;
    if (at < 0) {
      at = i;
      headers[i + 1] = value;
    } else {
      headers.splice(i, 2);
      i -= 2;
    }
  }
  if (at < 0) headers.push(name, value);
}
