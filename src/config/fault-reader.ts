/**
 * Reads Envoy's HTTPFault (envoy.extensions.filters.http.fault.v3.HTTPFault), the fault filter's
 * config at the filter level and per route. What this proxy cannot honour is refused by name:
 * the response rate limit, the runtime keys (there is no runtime to read them from) and filter_metadata.
 */
import type { FaultAbort, FaultDelay, FractionalPercent, HttpFault } from '../model/fault.js';
import type { HttpFilter } from '../model/listener.js';
import type { RouteConfiguration } from '../model/route.js';
import { FieldReader } from './field-reader.js';
import { readHeaderMatcher } from './route-reader.js';
import { isTypedStruct } from './typed-config-type.js';

export const HTTP_FAULT_MESSAGE = 'envoy.extensions.filters.http.fault.v3.HTTPFault';

const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;
const RUNTIME_KEYS = [
  'delayPercentRuntime', 'abortPercentRuntime', 'delayDurationRuntime', 'abortHttpStatusRuntime',
  'abortGrpcStatusRuntime', 'maxActiveFaultsRuntime', 'responseRateLimitPercentRuntime',
];
const MAX_UINT32 = 4_294_967_295;
const MAX_GRPC_STATUS = 16;

/** An HTTPFault's fields (without '@type'). */
export function readHttpFault(r: FieldReader): HttpFault {
  r.ignore('@type');
  for (const key of RUNTIME_KEYS) if (r.has(key)) r.fail(key, 'runtime keys are not supported: this proxy has no runtime to read them from');
  if (r.has('responseRateLimit')) r.fail('responseRateLimit', 'the response rate limit fault is not supported: it would not be applied');
  if (r.has('filterMetadata')) r.fail('filterMetadata', 'is not supported: no filter reads dynamic metadata here');
  // Only turns off per downstream cluster stats, which this proxy does not keep.
  r.bool('disableDownstreamClusterStats', false);
  const delay = r.optObj('delay');
  const abort = r.optObj('abort');
  const fault: HttpFault = {
    delay: delay ? readDelay(delay) : undefined,
    abort: abort ? readAbort(abort) : undefined,
    upstreamCluster: r.optStr('upstreamCluster') || undefined,
    headers: r.list('headers', readHeaderMatcher),
    downstreamNodes: r.strList('downstreamNodes'),
    maxActiveFaults: r.optInt('maxActiveFaults', 0, MAX_UINT32),
  };
  r.done();
  return fault;
}

function readDelay(r: FieldReader): FaultDelay {
  const header = r.optObj('headerDelay');
  header?.done();
  const delay: FaultDelay = { fixedDelay: r.optDuration('fixedDelay'), headerDelay: header !== undefined, percentage: readPercentage(r) };
  // The deprecated `type` has one value, FIXED, which says nothing more.
  if (r.has('type')) r.oneOf('type', ['FIXED'] as const, 'FIXED');
  r.done();
  if ((delay.fixedDelay !== undefined) === delay.headerDelay) r.fail('', 'exactly one of fixedDelay, headerDelay is required');
  if (delay.fixedDelay !== undefined && delay.fixedDelay <= 0) r.fail('fixedDelay', 'must be longer than 0s');
  return delay;
}

function readAbort(r: FieldReader): FaultAbort {
  const header = r.optObj('headerAbort');
  header?.done();
  const abort: FaultAbort = {
    httpStatus: r.optInt('httpStatus', 200, 599),
    grpcStatus: r.optInt('grpcStatus', 0, MAX_GRPC_STATUS),
    headerAbort: header !== undefined,
    percentage: readPercentage(r),
  };
  r.done();
  const set = [abort.httpStatus !== undefined, abort.grpcStatus !== undefined, abort.headerAbort].filter(Boolean).length;
  if (set !== 1) r.fail('', 'exactly one of httpStatus, grpcStatus, headerAbort is required');
  return abort;
}

/** A fault's percentage; absent, it is Envoy's default FractionalPercent: 0 out of 100, so the fault never fires. */
function readPercentage(r: FieldReader): FractionalPercent {
  const p = r.optObj('percentage');
  if (!p) return { numerator: 0, denominator: 100 };
  const name = p.oneOf('denominator', Object.keys(DENOMINATORS) as Array<keyof typeof DENOMINATORS>, 'HUNDRED');
  const percent: FractionalPercent = { numerator: p.int('numerator', 0, 0, MAX_UINT32), denominator: DENOMINATORS[name] };
  p.done();
  return percent;
}

/** The fields of a typed config holding an HTTPFault, a TypedStruct's `value` included. */
export function faultFields(typed: FieldReader, isStruct: boolean): FieldReader {
  if (!isStruct) return typed;
  typed.ignore('@type', 'typeUrl');
  const value = typed.optObj('value') ?? FieldReader.of({}, typed.file, typed.resource, typed.fieldPath('value'));
  typed.done();
  return value;
}

/** The filter-level HTTPFault of an http_filters entry; an entry without a typed config is an empty one. */
export function readFilterFault(typedConfig: Record<string, unknown>, typed: FieldReader | undefined): HttpFault {
  if (typed === undefined) return { headers: [], downstreamNodes: [] };
  return readHttpFault(faultFields(typed, isTypedStruct(typedConfig)));
}

/**
 * Why a connection manager's fault filters cannot run as listed, or undefined: one fault filter runs
 * per connection manager, before the router (Envoy never runs a filter listed after the router).
 */
export function misplacedFaultFilter(filters: readonly HttpFilter[]): string | undefined {
  const faults = filters.filter((f) => f.fault !== undefined);
  if (faults.length > 1) return `a second fault filter ("${faults[1]!.name}") is not supported: one fault filter runs per connection manager`;
  const fault = filters.findIndex((f) => f.fault !== undefined);
  const router = filters.findIndex((f) => f.name === 'envoy.filters.http.router');
  if (fault >= 0 && router >= 0 && fault > router) return `the fault filter "${filters[fault]!.name}" comes after the router, where it would never run`;
  return undefined;
}

/**
 * Why an inline route configuration's fault entries would never run, or undefined: a fault entry acts
 * only where the connection manager runs a fault filter under that name, as in Envoy.
 */
export function unusedPerFilterFault(filters: readonly HttpFilter[], rc: RouteConfiguration): string | undefined {
  const filter = filters.find((f) => f.fault !== undefined)?.name;
  const entries = [rc.fault, ...rc.virtualHosts.flatMap((vh) => [vh.fault, ...vh.routes.map((r) => r.fault)])];
  const unused = entries.find((e) => e !== undefined && e.filterName !== filter);
  if (unused === undefined) return undefined;
  return filter === undefined
    ? `typedPerFilterConfig configures the fault filter "${unused.filterName}", but httpFilters has no fault filter: it would not be applied`
    : `typedPerFilterConfig configures the fault filter "${unused.filterName}", but the fault filter in httpFilters is named "${filter}": it would not be applied`;
}
