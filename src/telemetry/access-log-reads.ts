/**
 * What an access log format reads beyond the record every request builds. The data path keeps
 * these (the paths sent, response headers and trailers, the times of a request's phases, the
 * upstream's protocol and tries, the downstream TLS session's version and cipher) only for a
 * listener one of whose formats asks, so the built-in layout costs nothing for them.
 */

/** The parts of a stream a listener's formats read; each compiled format sets the flags of what it uses. */
export interface AccessLogReads {
  /** %RESP(H)% / %RESPONSE_HEADER(H)% of a header other than x-envoy-upstream-service-time. */
  responseHeaders: boolean;
  /** %TRAILER(H)% / %RESPONSE_TRAILER(H)%. */
  responseTrailers: boolean;
  /** %REQUEST_DURATION%, %REQUEST_TX_DURATION%, %RESPONSE_DURATION%, %RESPONSE_TX_DURATION%. */
  timings: boolean;
  /** Any operator that reads LogDetails (the above, the paths sent, the upstream protocol, the attempt count, the TLS session). */
  details: boolean;
  /** An operator only an access log line can fill in (all of LogDetails but the paths): refused in header values. */
  lineOnly: boolean;
  /** %DOWNSTREAM_TLS_VERSION% and %DOWNSTREAM_TLS_CIPHER%, read from a connection when it starts. */
  downstreamTls: boolean;
}

/** A format that reads nothing beyond the record. */
export function noReads(): AccessLogReads {
  return { responseHeaders: false, responseTrailers: false, timings: false, details: false, lineOnly: false, downstreamTls: false };
}

/** What a request's or connection's line carries beside its record, made only when a format of the listener reads it. */
export interface LogDetails {
  /** The downstream connection's number [%CONNECTION_ID%]. */
  connectionId?: number;
  /** :path as sent upstream, after the route's rewrite [%REQ(:PATH)%]. */
  requestPath?: string;
  /** The x-envoy-original-path the request carries upstream [%REQ(X-ENVOY-ORIGINAL-PATH)%]. */
  originalPath?: string;
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
  /** "HTTP/1.1" or "HTTP/2" once an upstream connection or stream was had [%UPSTREAM_PROTOCOL%]. */
  upstreamProtocol?: string;
  /** Tries sent upstream, retries included; 0 when none was [%UPSTREAM_REQUEST_ATTEMPT_COUNT%]. */
  upstreamRequestAttemptCount?: number;
  /** The downstream TLS session's version and cipher [%DOWNSTREAM_TLS_VERSION%, %DOWNSTREAM_TLS_CIPHER%]. */
  downstreamTlsVersion?: string;
  downstreamTlsCipher?: string;
}
