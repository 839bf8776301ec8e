/**
 * Envoy's CorsPolicy (envoy.config.route.v3.CorsPolicy), read where Envoy accepts it: a route's or
 * virtual host's typedPerFilterConfig under the CORS filter's name (as Istio writes a VirtualService
 * corsPolicy), and the deprecated route.cors and virtual host cors fields.
 */
import type { CorsPolicy, FractionalPercent } from '../model/cors.js';
import type { FieldReader } from './field-reader.js';
import { readStringMatcher } from './tls-reader.js';
import { typedConfigMessage } from './typed-config-type.js';

export const CORS_FILTER = 'envoy.filters.http.cors';
const CORS_POLICY_MESSAGE = 'envoy.config.route.v3.CorsPolicy';
const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

/** A value the policy writes into a response header as configured. */
function headerValueText(r: FieldReader, key: string): string {
  const value = r.optStr(key) ?? '';
  if (/[\r\n\0]/.test(value)) r.fail(key, 'must not contain CR, LF or NUL');
  return value;
}

/** Envoy's RuntimeFractionalPercent; there is no runtime here, so a runtime key that could override the default is refused. */
function readRuntimeFraction(r: FieldReader): FractionalPercent {
  if ((r.optStr('runtimeKey') ?? '') !== '') r.fail('runtimeKey', 'runtime overrides are not supported: only defaultValue applies');
  const d = r.obj('defaultValue');
  const percent: FractionalPercent = {
    numerator: d.int('numerator', 0, 0, 0xffff_ffff),
    denominator: DENOMINATORS[d.oneOf('denominator', ['HUNDRED', 'TEN_THOUSAND', 'MILLION'] as const, 'HUNDRED')],
  };
  d.done();
  r.done();
  return percent;
}

function optBool(r: FieldReader, key: string): boolean | undefined {
  return r.has(key) ? r.bool(key, false) : undefined;
}

/** Reads one CorsPolicy message (its fields; an '@type' is the caller's). */
export function readCorsPolicy(r: FieldReader): CorsPolicy {
  const enabled = r.optObj('filterEnabled');
  const shadow = r.optObj('shadowEnabled');
  const policy: CorsPolicy = {
    // Envoy matches the Origin header's bytes: regexes run over them as route header matchers do.
    allowOriginStringMatch: r.list('allowOriginStringMatch', (m) => readStringMatcher(m, true)),
    allowMethods: headerValueText(r, 'allowMethods'),
    allowHeaders: headerValueText(r, 'allowHeaders'),
    exposeHeaders: headerValueText(r, 'exposeHeaders'),
    maxAge: headerValueText(r, 'maxAge'),
    allowCredentials: optBool(r, 'allowCredentials'),
    allowPrivateNetworkAccess: optBool(r, 'allowPrivateNetworkAccess'),
    forwardNotMatchingPreflights: optBool(r, 'forwardNotMatchingPreflights'),
    filterEnabled: enabled ? readRuntimeFraction(enabled) : undefined,
    shadowEnabled: shadow ? readRuntimeFraction(shadow) : undefined,
  };
  r.done();
  return policy;
}

/** The CORS filter's entry `name` of a typedPerFilterConfig map (per-filter-config-reader.ts finds it). */
export function readCorsPolicyEntry(map: FieldReader, name: string): CorsPolicy {
  const typed = map.obj(name);
  typed.ignore('@type');
  const message = typedConfigMessage(map.raw(name) as Record<string, unknown>);
  if (message !== CORS_POLICY_MESSAGE) typed.fail('@type', `the CORS filter's per-route config must be type.googleapis.com/${CORS_POLICY_MESSAGE}, not ${message ?? 'untyped'}`);
  return readCorsPolicy(typed);
}
