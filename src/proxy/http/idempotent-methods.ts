/** Methods a request may be repeated with at no extra effect (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Whether a request the upstream may have read can go again without a retry policy: only an idempotent
 * one (RFC 9110 §9.2.2: a proxy must not retry a non-idempotent request on its own).
 */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method);
}
