/**
 * x-request-id: generation and Envoy's rules for keeping or replacing one that came in
 * (HttpConnectionManager.generateRequestId / preserveExternalRequestId).
 */
import type { HttpConnectionManager } from '../model/listener.js';
import { randomUuid } from './random-ids.js';

/** The header name, lower-case as in RequestHead.headers. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** The HttpConnectionManager settings that decide request ids. */
export type RequestIdPolicy = Pick<HttpConnectionManager, 'generateRequestId' | 'preserveExternalRequestId'>;

/** A new UUIDv4, from the random-id pool (see randomUuid for why not crypto.randomUUID). */
export function newRequestId(): string {
  return randomUuid();
}

/**
 * The x-request-id to forward, following Envoy: with generateRequestId on, an edge request (from
 * outside the mesh: not an internal address, and useRemoteAddress on) gets a fresh id unless
 * preserveExternalRequestId is set; any other request keeps its id and gets one only when it has
 * none. With generateRequestId off, the incoming value (or its absence) passes through.
 * An empty value counts as absent.
 */
export function resolveRequestId(
  incoming: string | undefined,
  policy: RequestIdPolicy,
  edgeRequest: boolean,
  generate: () => string = newRequestId,
): string | undefined {
  const has = incoming !== undefined && incoming !== '';
  if (!policy.generateRequestId) return has ? incoming : undefined;
  const forceNew = edgeRequest && !policy.preserveExternalRequestId;
  return has && !forceNew ? incoming : generate();
}
