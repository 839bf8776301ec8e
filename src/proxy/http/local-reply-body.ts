/**
 * The body of a reply the proxy makes for an upstream failure, worded as Envoy words it: clients,
 * runbooks and Istio's own docs match on "no healthy upstream", "upstream request timeout" and
 * "upstream connect error or disconnect/reset before headers".
 */
import { ResponseFlag, type ResponseFlagCode } from './response-flags.js';
import type { ResetReasonText } from './upstream-reset-reason.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * The reply when a route's maxStreamDuration (or a gRPC client's deadline under grpcTimeoutHeaderMax)
 * runs out: 408 with this body, DEADLINE_EXCEEDED to gRPC, as Envoy's connection manager answers.
 */
export const STREAM_DURATION_TIMEOUT_BODY = 'downstream duration timeout';

/** The fault filter's abort: its body and response_code_details, as Envoy's. */
export const FAULT_ABORT_BODY = 'fault filter abort';
export const FAULT_ABORT_DETAILS = 'fault_filter_abort';

/** The reply to a failure that is no reset: no healthy host, the route timeout, or the status' own text. */
export function upstreamFailureBody(status: number, flag: ResponseFlagCode): string {
  if (flag === ResponseFlag.NoHealthyUpstream) return 'no healthy upstream';
  if (flag === ResponseFlag.UpstreamRequestTimeout) return 'upstream request timeout';
  return STATUS_TEXT[status] ?? 'error';
}

/**
 * The reply to an upstream reset, as Envoy's router words it: `retried` says earlier tries failed
 * too; `transportFailure` is why a connection never opened (a refused connect, a TLS handshake).
 */
export function upstreamResetBody(reason: ResetReasonText, retried: boolean, transportFailure: string | undefined): string {
  const body = `upstream connect error or disconnect/reset before headers. ${retried ? 'retried and the latest reset reason' : 'reset reason'}: ${reason}`;
  return transportFailure ? `${body}, transport failure reason: ${transportFailure}` : body;
}
