/**
 * The body of a reply the proxy makes for an upstream failure, worded as Envoy words it: clients,
 * runbooks and Istio's own docs match on "no healthy upstream", "upstream request timeout" and
 * "upstream connect error or disconnect/reset before headers".
 */
import { ResponseFlag, type ResponseFlagCode } from './response-flags.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Envoy's names for why an upstream stream was reset (its resetReasonToString). */
const RESET_REASON: Partial<Record<ResponseFlagCode, string>> = {
  [ResponseFlag.UpstreamConnectionFailure]: 'remote connection failure',
  [ResponseFlag.UpstreamConnectionTermination]: 'connection termination',
  [ResponseFlag.UpstreamRemoteReset]: 'remote reset',
  [ResponseFlag.UpstreamOverflow]: 'overflow',
  [ResponseFlag.UpstreamProtocolError]: 'protocol error',
};

/**
 * `flag` is the failure's own flag (the cause, not URX); `retried` says earlier tries failed too;
 * `transportFailure` is the connect error (e.g. ECONNREFUSED) for a connection that never opened.
 */
export function upstreamFailureBody(status: number, flag: ResponseFlagCode, retried: boolean, transportFailure?: string): string {
  if (flag === ResponseFlag.NoHealthyUpstream) return 'no healthy upstream';
  if (flag === ResponseFlag.UpstreamRequestTimeout) return 'upstream request timeout';
  const reason = RESET_REASON[flag];
  if (reason === undefined) return STATUS_TEXT[status] ?? 'error';
  const body = `upstream connect error or disconnect/reset before headers. ${retried ? 'retried and the latest reset reason' : 'reset reason'}: ${reason}`;
  return transportFailure === undefined ? body : `${body}, transport failure reason: ${transportFailure}`;
}
