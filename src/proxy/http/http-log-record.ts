import type { HttpAccessLogRecord } from '../../telemetry/access-log-format.js';
import type { LogDetails } from '../../telemetry/access-log-reads.js';
import { endpointText, type ConnectionEndpoints } from '../connection-endpoints.js';
import type { HttpStream } from './http-stream.js';
import { headerValue } from './request-head.js';

/**
 * %DOWNSTREAM_REMOTE_ADDRESS% as Envoy writes it: the peer's "ip:port", or, when x-forwarded-for named
 * the trusted client, that address with port 0 (no port is known for it).
 */
function trustedRemote(client: string, peer: string, e: ConnectionEndpoints | undefined): string | undefined {
  if (client === '' || client === peer) return e?.remote ?? peer;
  return endpointText(client, 0);
}

/**
 * A stream's access log record: complete once it finished; before that, what is known so far (header
 * values' command operators read it, with its details). The details are made only when a format reads them.
 */
export function httpLogRecord(stream: HttpStream, durationMs: number, withDetails: boolean): HttpAccessLogRecord {
  const h = stream.head;
  const e = h.endpoints;
  return {
    startTimeMs: stream.startEpochMs,
    method: h.method,
    path: stream.originalPath ?? (stream.upstreamPath || h.path),
    protocol: stream.downstream.protocol,
    responseCode: stream.responseStatus,
    responseFlags: stream.responseFlags,
    responseCodeDetails: stream.responseDetails || 'via_upstream',
    bytesReceived: stream.requestBytes,
    bytesSent: stream.responseBytes,
    durationMs,
    upstreamServiceTimeMs: stream.upstreamServiceTimeMs >= 0 ? stream.upstreamServiceTimeMs : undefined,
    xForwardedFor: headerValue(h.headers, 'x-forwarded-for'),
    userAgent: headerValue(h.headers, 'user-agent'),
    requestId: stream.requestId || undefined,
    requestIdIsPlain: stream.requestIdGenerated,
    authority: h.authority,
    upstreamHost: stream.host?.key,
    upstreamCluster: stream.upstreamClusterName || undefined,
    upstreamLocalAddress: stream.upstreamLocalAddress,
    // Envoy's operator writes the reason with its spaces as underscores (the reply body keeps them).
    upstreamTransportFailureReason: stream.upstreamTransportFailureReason?.replaceAll(' ', '_'),
    downstreamLocalAddress: e?.local,
    downstreamRemoteAddress: trustedRemote(stream.clientAddress, h.remoteAddress, e),
    downstreamDirectRemoteAddress: e?.remote ?? h.remoteAddress,
    requestedServerName: e?.serverName,
    // The configured name only: Envoy's %ROUTE_NAME% is "-" for a route that has none.
    routeName: stream.route?.configuredName,
    downstreamPeerPrincipal: stream.peerPrincipal || undefined,
    traceparent: stream.traceparent,
    // The propagator formats it from checked hex ids (TracePropagator's contract).
    traceparentIsPlain: true,
    details: withDetails ? httpLogDetails(stream, durationMs) : undefined,
  };
}

/** What only some formats read: the paths sent, the response's headers and trailers as kept, the request's phases (ms from its start), the upstream's protocol and tries, the TLS session. */
function httpLogDetails(stream: HttpStream, durationMs: number): LogDetails {
  const start = stream.startTime;
  // The response head arrived upstreamServiceTimeMs after the try that got it started.
  const responseMs = stream.upstreamServiceTimeMs >= 0 ? stream.upstreamStart - start + stream.upstreamServiceTimeMs : undefined;
  return {
    connectionId: stream.head.endpoints?.id,
    requestPath: stream.upstreamPath || stream.head.path,
    originalPath: stream.originalPath,
    responseHeaders: stream.responseHeaders,
    responseTrailers: stream.responseTrailers,
    requestDurationMs: stream.requestEndAt > 0 ? stream.requestEndAt - start : undefined,
    requestTxDurationMs: stream.upstreamRequestEndAt > 0 ? stream.upstreamRequestEndAt - start : undefined,
    responseDurationMs: responseMs,
    // The stream's end is when its last byte went downstream.
    responseTxDurationMs: responseMs === undefined ? undefined : durationMs - responseMs,
    upstreamProtocol: stream.upstreamLocalAddress === undefined ? undefined : stream.cluster?.http2 ? 'HTTP/2' : 'HTTP/1.1',
    // A try counts once a host was chosen for it, as Envoy's router sets the count.
    upstreamRequestAttemptCount: stream.host === undefined ? 0 : stream.attempts,
    downstreamTlsVersion: stream.head.endpoints?.tlsVersion,
    downstreamTlsCipher: stream.head.endpoints?.tlsCipher,
  };
}
