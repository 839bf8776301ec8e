/**
 * Why an upstream stream ended before its response did, in Envoy's words (its StreamResetReason as
 * Http::Utility::resetReasonToString spells it), and the access log's response_code_details built
 * from it as current Envoy's router builds them (source/common/router/router.cc, onUpstreamReset):
 * `upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}`.
 */

export const ResetReason = {
  RemoteConnectionFailure: 'remote connection failure',
  ConnectionTimeout: 'connection timeout',
  ConnectionTermination: 'connection termination',
  RemoteReset: 'remote reset',
  RemoteRefusedStreamReset: 'remote refused stream reset',
  Overflow: 'overflow',
  ProtocolError: 'protocol error',
} as const;

export type ResetReasonText = (typeof ResetReason)[keyof typeof ResetReason];

/**
 * `upstream_reset_before_response_started{reason|transport failure}` (or `..._after_...` once the
 * response has started), every blank turned into '_' as Envoy's StringUtil::replaceAllEmptySpace does.
 * Older Envoy releases (Istio sidecar logs of 2023 and 2024) put ',' where '|' is now.
 */
export function upstreamResetDetails(responseStarted: boolean, reason: ResetReasonText, transportFailure?: string): string {
  const prefix = responseStarted ? 'upstream_reset_after_response_started{' : 'upstream_reset_before_response_started{';
  const inner = transportFailure ? `${reason}|${transportFailure}` : reason;
  return `${prefix}${blanksAsUnderscores(inner)}}`;
}

/** Every blank as '_', as Envoy writes details and %UPSTREAM_TRANSPORT_FAILURE_REASON% (one token in a text log line). */
export function blanksAsUnderscores(text: string): string {
  return text.replace(/\s/g, '_');
}

/** strerror(3) texts of the errors a connect may end with: Envoy names the failure with them. */
const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
  EADDRNOTAVAIL: 'Cannot assign requested address',
};

/** Node's code for a connect attempt this proxy gave up on after the cluster's connectTimeout. */
export const CONNECT_TIMEOUT = 'connect_timeout';

/**
 * Envoy's reset reason and transport failure reason for a connection that never opened: `code` is
 * the connect error's code (ECONNREFUSED), `tlsFailure` the TLS handshake's failure when TCP
 * connected. A refused connect reads "delayed connect error: Connection refused", as Envoy's
 * ConnectionImpl words a connect error reported after the non-blocking connect() began.
 */
export function connectFailureReason(code: string, tlsFailure: string | undefined): { reason: ResetReasonText; transportFailure: string | undefined } {
  if (tlsFailure !== undefined) return { reason: ResetReason.RemoteConnectionFailure, transportFailure: tlsFailure };
  if (code === CONNECT_TIMEOUT) return { reason: ResetReason.ConnectionTimeout, transportFailure: undefined };
  const text = STRERROR[code];
  return { reason: ResetReason.RemoteConnectionFailure, transportFailure: text === undefined ? code : `delayed connect error: ${text}` };
}
