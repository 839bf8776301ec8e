/**
 * Envoy's request headers that steer the proxy: which ones an edge strips from external requests,
 * and the router's per-request overrides (x-envoy-upstream-rq-timeout-ms, x-envoy-retry-on, ...).
 *
 * An external client must not steer a mesh: with useRemoteAddress, a request that is not internal
 * loses these before routing (Envoy's cleanInternalHeaders), as it loses a route configuration's
 * internalOnlyHeaders. A request that keeps them (internal, or behind a sidecar) has the router's
 * overrides applied, and they are consumed: the next hop does not retry or time out on them again.
 */
import { RETRY_ON_CONDITIONS } from '../../model/route.js';

/** Removed from external requests at the edge. */
const EDGE_STRIPPED = new Set([
  'x-envoy-decorator-operation',
  'x-envoy-downstream-service-cluster',
  'x-envoy-downstream-service-node',
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-upstream-alt-stat-name',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-upstream-rq-timeout-alt-response',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-force-trace',
  'x-envoy-ip-tags',
  'x-envoy-original-url',
  'x-envoy-hedge-on-per-try-timeout',
]);

/** True for a name the edge strips from external requests. */
export function isEdgeStripped(name: string): boolean {
  return EDGE_STRIPPED.has(name);
}

/** The router's per-request overrides; absent fields leave the route's settings. */
export interface RouterOverrides {
  /** x-envoy-upstream-rq-timeout-ms: the route timeout (0 disables it). */
  timeoutMs?: number;
  /** x-envoy-upstream-rq-per-try-timeout-ms. */
  perTryTimeoutMs?: number;
  /** x-envoy-max-retries. */
  maxRetries?: number;
  /** x-envoy-retry-on and x-envoy-retry-grpc-on, known conditions only (Envoy ignores the others). */
  retryOn?: string[];
}

const OVERRIDE_HEADERS = new Set(['x-envoy-upstream-rq-timeout-ms', 'x-envoy-upstream-rq-per-try-timeout-ms', 'x-envoy-max-retries', 'x-envoy-retry-on', 'x-envoy-retry-grpc-on']);

/** True for a header the router consumes as an override. */
export function isRouterOverride(name: string): boolean {
  return OVERRIDE_HEADERS.has(name);
}

/** Adds one override header to `into` (made when first needed); a malformed value is ignored, as Envoy ignores it. */
export function readRouterOverride(name: string, value: string, into: RouterOverrides | undefined): RouterOverrides | undefined {
  const out = into ?? {};
  if (name === 'x-envoy-retry-on' || name === 'x-envoy-retry-grpc-on') {
    const known = value.split(',').map((c) => c.trim()).filter((c) => RETRY_ON_CONDITIONS.has(c));
    if (known.length > 0) out.retryOn = [...(out.retryOn ?? []), ...known];
    return out;
  }
  const n = wholeNumber(value);
  if (n === undefined) return into;
  if (name === 'x-envoy-upstream-rq-timeout-ms') out.timeoutMs = n;
  else if (name === 'x-envoy-upstream-rq-per-try-timeout-ms') out.perTryTimeoutMs = n;
  else if (name === 'x-envoy-max-retries') out.maxRetries = n;
  return out;
}

/** A non-negative decimal integer (digits only, at most 10 of them), else undefined. */
function wholeNumber(value: string): number | undefined {
  const v = value.trim();
  return /^[0-9]{1,10}$/.test(v) ? Number(v) : undefined;
}
