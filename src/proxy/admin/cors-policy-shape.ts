/**
 * A CORS policy as Envoy's config dump prints it: a CorsPolicy message (typed, under the filter's name
 * when it came as typedPerFilterConfig), wrapped bools printed even when false, denominators by name.
 */
import type { CorsPolicy, FractionalPercent } from '../../model/cors.js';
import { Verbatim } from './envoy-json.js';

type Json = Record<string, unknown>;

const CORS_POLICY_TYPE = 'type.googleapis.com/envoy.config.route.v3.CorsPolicy';
const DENOMINATOR_NAMES: Record<number, string | undefined> = { 100: undefined, 10_000: 'TEN_THOUSAND', 1_000_000: 'MILLION' };

/** A google.protobuf.BoolValue: a set false is still printed. */
function wrappedBool(v: boolean | undefined): unknown {
  return v === undefined ? undefined : new Verbatim(v);
}

function runtimeFraction(p: FractionalPercent | undefined): Json | undefined {
  // HUNDRED is the enum's default, which proto3 JSON leaves out.
  return p && { defaultValue: { numerator: p.numerator, denominator: DENOMINATOR_NAMES[p.denominator] } };
}

/** The CorsPolicy message. */
export function shapeCorsPolicy(p: CorsPolicy | undefined): Json | undefined {
  if (p === undefined) return undefined;
  return {
    ...p,
    allowCredentials: wrappedBool(p.allowCredentials),
    allowPrivateNetworkAccess: wrappedBool(p.allowPrivateNetworkAccess),
    forwardNotMatchingPreflights: wrappedBool(p.forwardNotMatchingPreflights),
    filterEnabled: runtimeFraction(p.filterEnabled),
    shadowEnabled: runtimeFraction(p.shadowEnabled),
  };
}

/** typedPerFilterConfig holding the CORS filter's policy, or undefined without one. */
export function perFilterCorsConfig(p: CorsPolicy | undefined): Json | undefined {
  return p && { 'envoy.filters.http.cors': { '@type': CORS_POLICY_TYPE, ...shapeCorsPolicy(p) } };
}
