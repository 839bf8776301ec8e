import { ResetReason, type ResetReasonText } from './upstream-reset-reason.js';

/** Envoy's response flags: the short code in access logs and metrics that says why a response is what it is. */
export const ResponseFlag = {
  None: '-',
  NoRouteFound: 'NR',
  NoClusterFound: 'NC',
  NoHealthyUpstream: 'UH',
  UpstreamConnectionFailure: 'UF',
  UpstreamOverflow: 'UO',
  UpstreamRemoteReset: 'UR',
  UpstreamConnectionTermination: 'UC',
  UpstreamRequestTimeout: 'UT',
  UpstreamProtocolError: 'UPE',
  DownstreamConnectionTermination: 'DC',
  DownstreamProtocolError: 'DPE',
  StreamIdleTimeout: 'SI',
  UpstreamMaxStreamDurationReached: 'UMSDR',
  UpstreamRetryLimitExceeded: 'URX',
  DelayInjected: 'DI',
  FaultInjected: 'FI',
} as const;

export type ResponseFlagCode = (typeof ResponseFlag)[keyof typeof ResponseFlag];

/** The flag of an upstream reset with `reason`, as Envoy's router maps a StreamResetReason to one. */
export function resetFlag(reason: ResetReasonText): ResponseFlagCode {
  switch (reason) {
    case ResetReason.ProtocolError:
      return ResponseFlag.UpstreamProtocolError;
    case ResetReason.ConnectionTermination:
      return ResponseFlag.UpstreamConnectionTermination;
    case ResetReason.Overflow:
      return ResponseFlag.UpstreamOverflow;
    case ResetReason.RemoteConnectionFailure:
    case ResetReason.ConnectionTimeout:
      return ResponseFlag.UpstreamConnectionFailure;
    default:
      return ResponseFlag.UpstreamRemoteReset;
  }
}

/** Envoy's order of flags in a list: "UF,URX", never "URX,UF". */
const FLAG_ORDER: readonly string[] = ['UH', 'UT', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'DC', 'URX', 'SI', 'DPE', 'UMSDR', 'UPE', 'NC'];

/** `flags` ("-", one flag, or several joined by commas as Envoy writes them) with `flag` added in its place. */
export function addResponseFlag(flags: string, flag: ResponseFlagCode): string {
  if (flags === ResponseFlag.None) return flag;
  const list = flags.split(',');
  if (list.includes(flag)) return flags;
  list.push(flag);
  return list.sort((a, b) => FLAG_ORDER.indexOf(a) - FLAG_ORDER.indexOf(b)).join(',');
}
