/**
 * A fault filter's per-route config (route, virtual host or route configuration) as Envoy's
 * typed_per_filter_config prints it: keyed by the filter's name, an HTTPFault in proto3 JSON.
 */
import type { FractionalPercent, HttpFault, PerFilterFault } from '../../model/fault.js';
import { durationText, toEnvoyJson, Verbatim } from './envoy-json.js';

type Json = Record<string, unknown>;

const HTTP_FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const DENOMINATOR_NAMES: Record<number, string> = { 10_000: 'TEN_THOUSAND', 1_000_000: 'MILLION' };

/** The typed_per_filter_config of a resource with this fault entry; undefined without one. */
export function faultTypedPerFilterConfig(entry: PerFilterFault | undefined): Verbatim | undefined {
  // The map's keys are filter names, not fields: printed as given, its values already in proto3 JSON.
  return entry && new Verbatim({ [entry.filterName]: httpFaultJson(entry.fault) });
}

function httpFaultJson(f: HttpFault): Json {
  const out: Json = { '@type': HTTP_FAULT_TYPE };
  const d = f.delay;
  if (d) out.delay = { ...(d.headerDelay ? { header_delay: {} } : { fixed_delay: durationText(d.fixedDelay!) }), ...percentage(d.percentage) };
  const a = f.abort;
  if (a) {
    const error = a.headerAbort ? { header_abort: {} } : a.grpcStatus !== undefined ? { grpc_status: a.grpcStatus } : { http_status: a.httpStatus };
    out.abort = { ...error, ...percentage(a.percentage) };
  }
  if (f.upstreamCluster !== undefined) out.upstream_cluster = f.upstreamCluster;
  if (f.headers.length > 0) out.headers = toEnvoyJson(f.headers);
  if (f.downstreamNodes.length > 0) out.downstream_nodes = f.downstreamNodes;
  if (f.maxActiveFaults !== undefined) out.max_active_faults = f.maxActiveFaults;
  return out;
}

/** A FractionalPercent with proto3's defaults (numerator 0, HUNDRED) left out; an unset percentage prints nothing. */
function percentage(p: FractionalPercent): Json {
  if (p.numerator === 0 && p.denominator === 100) return {};
  const denominator = DENOMINATOR_NAMES[p.denominator];
  return { percentage: { ...(p.numerator > 0 ? { numerator: p.numerator } : {}), ...(denominator ? { denominator } : {}) } };
}
