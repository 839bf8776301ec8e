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
} as const;

export type ResponseFlagCode = (typeof ResponseFlag)[keyof typeof ResponseFlag];

/** Envoy's reset reason when the upstream connection itself ended under a stream (flag UC, not UR). */
export const CONNECTION_TERMINATION = 'connection_termination';

/** The flag of an upstream reset with `reason`: a protocol error, the connection ending, or a reset of the stream. */
export function resetFlag(reason: string): ResponseFlagCode {
  if (reason.startsWith('protocol_error')) return ResponseFlag.UpstreamProtocolError;
  return reason === CONNECTION_TERMINATION ? ResponseFlag.UpstreamConnectionTermination : ResponseFlag.UpstreamRemoteReset;
}

/** Envoy's order of flags in a list: "UF,URX", never "URX,UF". */
const FLAG_ORDER: readonly string[] = ['UH', 'UT', 'UR', 'UF', 'UC', 'UO', 'NR', 'DC', 'URX', 'SI', 'DPE', 'UMSDR', 'UPE', 'NC'];

/** `flags` ("-", one flag, or several joined by commas as Envoy writes them) with `flag` added in its place. */
export function addResponseFlag(flags: string, flag: ResponseFlagCode): string {
  if (flags === ResponseFlag.None) return flag;
  const list = flags.split(',');
  if (list.includes(flag)) return flags;
  list.push(flag);
  return list.sort((a, b) => FLAG_ORDER.indexOf(a) - FLAG_ORDER.indexOf(b)).join(',');
}
