import type { LoadOptions } from './load-options.js';

/**
 * The fields of Fortio's HTTPOptions that its HTTPRunnerResults embeds, from our options: durations
 * in nanoseconds and the payload in base64, as Go marshals time.Duration and []byte. Fields for
 * features Bulwark lacks keep Fortio's defaults.
 */
export interface FortioHttpOptions {
  Insecure: boolean;
  MTLS: boolean;
  CACert: string;
  Cert: string;
  Key: string;
  UnixDomainSocket: string;
  URL: string;
  NumConnections: number;
  Compression: boolean;
  DisableFastClient: boolean;
  HTTP10: boolean;
  H2: boolean;
  DisableKeepAlive: boolean;
  AllowHalfClose: boolean;
  FollowRedirects: boolean;
  Resolve: string;
  HTTPReqTimeOut: number;
  UserCredentials: string;
  ContentType: string;
  Payload: string;
  MethodOverride: string;
  LogErrors: boolean;
  SequentialWarmup: boolean;
  ConnReuseRange: [number, number];
  NoResolveEachConn: boolean;
  Offset: number;
  Resolution: number;
}

export function fortioHttpOptions(o: LoadOptions): FortioHttpOptions {
  return {
    Insecure: o.insecure,
    MTLS: false,
    CACert: o.caFile ?? '',
    Cert: o.certFile ?? '',
    Key: o.keyFile ?? '',
    UnixDomainSocket: o.unixSocket ?? '',
    URL: o.url.toString(),
    NumConnections: o.connections,
    Compression: o.compression,
    // Fortio's -h2 switches to its standard client, and its JSON says so.
    DisableFastClient: !o.fastClient,
    HTTP10: o.http10,
    H2: o.http2,
    DisableKeepAlive: o.newConnection,
    AllowHalfClose: o.halfClose,
    FollowRedirects: o.followRedirects,
    Resolve: o.resolve ?? '',
    HTTPReqTimeOut: Math.round(o.timeoutMs * 1e6),
    // Fortio writes "user:password" here; the password is left out of the results.
    UserCredentials: o.user !== undefined ? `${o.user}:***` : '',
    ContentType: o.contentType ?? '',
    Payload: o.payload.toString('base64'),
    // Fortio records only an explicit -X; the method otherwise follows from the payload.
    MethodOverride: o.methodOverride ?? '',
    LogErrors: o.logErrors,
    SequentialWarmup: o.sequentialWarmup,
    ConnReuseRange: o.connectionReuse,
    NoResolveEachConn: false,
    Offset: Math.round(o.histogram.offset * 1e9),
    Resolution: o.histogram.resolution,
  };
}
