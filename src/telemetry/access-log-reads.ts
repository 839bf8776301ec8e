/**
 * What an access log format reads beyond the record every request builds. The data path keeps
 * these (response headers and trailers, the times of a request's phases, the downstream TLS
 * session's version and cipher) only for a listener one of whose formats asks, so the built-in
 * layout costs nothing for them.
 */

/** The parts of a stream a listener's formats read; each compiled format sets the flags of what it uses. */
export interface AccessLogReads {
  /** %RESP(H)% / %RESPONSE_HEADER(H)% of a header other than x-envoy-upstream-service-time. */
  responseHeaders: boolean;
  /** %TRAILER(H)% / %RESPONSE_TRAILER(H)%. */
  responseTrailers: boolean;
  /** %REQUEST_DURATION%, %REQUEST_TX_DURATION%, %RESPONSE_DURATION%, %RESPONSE_TX_DURATION%. */
  timings: boolean;
  /** Any of the above: the line needs the stream's HttpLogDetails. */
  details: boolean;
  /** %DOWNSTREAM_TLS_VERSION% and %DOWNSTREAM_TLS_CIPHER%, read from a connection when it starts. */
  downstreamTls: boolean;
}

/** A format that reads nothing beyond the record. */
export function noReads(): AccessLogReads {
  return { responseHeaders: false, responseTrailers: false, timings: false, details: false, downstreamTls: false };
}

/** What an HTTP stream's line carries beside its record, made only for formats that read it. */
export interface HttpLogDetails {
  /** The response head sent downstream (flat name/value list), when one was. */
  responseHeaders?: readonly string[];
  /** The response's trailers as the upstream (or the proxy, ending a gRPC call) sent them. */
  responseTrailers?: readonly string[];
  /** From the start to the last byte of the request received from the downstream. */
  requestDurationMs?: number;
  /** From the start to the last byte of the request sent upstream. */
  requestTxDurationMs?: number;
  /** From the start to the first byte of the response read from the upstream. */
  responseDurationMs?: number;
  /** From the first byte read from the upstream to the last byte sent downstream. */
  responseTxDurationMs?: number;
}
