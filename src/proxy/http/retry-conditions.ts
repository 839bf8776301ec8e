/**
 * Envoy's `retryOn` conditions, read once per policy. Which failures are retried:
 * - before a response: `5xx`, `gateway-error` and `reset` (connect failures, resets, timeouts),
 *   `connect-failure` (connect failures only); `refused-stream` is always honoured, since a stream the upstream
 *   refused never reached it and is sent again without asking the policy;
 * - on a response head: `5xx`, `gateway-error` (502, 503, 504), `retriable-4xx` (409),
 *   `retriable-status-codes` (any listed status, 4xx included), and the gRPC conditions
 *   (`cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`), which look
 *   at the grpc-status of a trailers-only response, the only kind whose status is in its head.
 */
import type { RetryPolicy } from '../../model/route.js';
import { grpcStatusIn } from './grpc-status.js';

export interface RetryConditions {
  any5xx: boolean;
  gatewayError: boolean;
  connectFailure: boolean;
  reset: boolean;
  retriable4xx: boolean;
  statusCodes: readonly number[];
  /** gRPC status codes whose trailers-only response is retried. */
  grpcCodes: readonly number[];
}

const GRPC_CONDITIONS: Record<string, number> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };

const byPolicy = new WeakMap<RetryPolicy, RetryConditions>();

export function retryConditions(policy: RetryPolicy): RetryConditions {
  let c = byPolicy.get(policy);
  if (c === undefined) {
    const on = policy.retryOn;
    c = {
      any5xx: on.includes('5xx'),
      gatewayError: on.includes('gateway-error'),
      connectFailure: on.includes('connect-failure'),
      reset: on.includes('reset'),
      retriable4xx: on.includes('retriable-4xx'),
      statusCodes: on.includes('retriable-status-codes') ? policy.retriableStatusCodes : [],
      grpcCodes: on.filter((cond) => cond in GRPC_CONDITIONS).map((cond) => GRPC_CONDITIONS[cond]!),
    };
    byPolicy.set(policy, c);
  }
  return c;
}

/** A failure before any response: is it one the policy retries? */
export function retriesFailure(c: RetryConditions, kind: 'connect-failure' | 'reset' | 'timeout'): boolean {
  // Envoy's `reset` covers every failure without a response: a refused connection and a per-try timeout too.
  return c.any5xx || c.gatewayError || c.reset || (kind === 'connect-failure' && c.connectFailure);
}

/**
 * A response head: is it one the policy retries? `headers` are the response's, for a trailers-only
 * gRPC status; `request.isGrpc` is only read when a gRPC condition is on.
 */
export function retriesResponse(c: RetryConditions, status: number, headers: readonly string[], request: { readonly isGrpc: boolean }): boolean {
  if (status >= 500 && (c.any5xx || (c.gatewayError && status <= 504 && status >= 502))) return true;
  if (status === 409 && c.retriable4xx) return true;
  if (c.statusCodes.length > 0 && c.statusCodes.includes(status)) return true;
  if (c.grpcCodes.length > 0 && request.isGrpc) {
    const code = grpcStatusIn(headers);
    return code > 0 && c.grpcCodes.includes(code);
  }
  return false;
}
