/** Envoy's response flags: the short code in access logs and metrics that says why a response is what it is. */
export const ResponseFlag = {
  None: '-',
  NoRouteFound: 'NR',
  NoClusterFound: 'NC',
  NoHealthyUpstream: 'UH',
  UpstreamConnectionFailure: 'UF',
  UpstreamOverflow: 'UO',
  UpstreamRemoteReset: 'UR',
  UpstreamRequestTimeout: 'UT',
  UpstreamProtocolError: 'UPE',
  DownstreamConnectionTermination: 'DC',
  DownstreamProtocolError: 'DPE',
  StreamIdleTimeout: 'SI',
  UpstreamMaxStreamDurationReached: 'UMSDR',
} as const;

export type ResponseFlagCode = (typeof ResponseFlag)[keyof typeof ResponseFlag];
