/**
 * One JSON line per request or TCP connection, with the keys of Istio's default JSON access log
 * (Envoy command operators in brackets). Absent values are null, as in Envoy's JSON format.
 *
 * Built by concatenation: measured against JSON.stringify of the same object on Node 20
 * (see docs/metrics.md), concatenation with escaping only where needed is faster and needs no
 * intermediate object.
 */
import { jsonMillisOrNull, jsonNumberOrNull, jsonString, jsonStringOrNull } from './json-fragments.js';
import { appendAscii, appendJson, appendJsonOrNull, appendMillisOrNull, appendNumberOrNull, appendText, constantText, type LineBytes } from './json-line.js';
import { formatTimestamp } from './log-timestamp.js';

/** Fields of one HTTP request's line. The data path may pass its own per-request state object if it has these fields. */
export interface HttpAccessLogRecord {
  /** Epoch ms when the first byte of the request arrived [%START_TIME%]. */
  startTimeMs: number;
  method: string;
  /** The path as received, with the query [%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%]. */
  path: string;
  /** "HTTP/1.1" or "HTTP/2" [%PROTOCOL%]. */
  protocol: string;
  /** 0 when no response was sent. */
  responseCode: number;
  /** Envoy response flags, "-" when none (see response-flags.ts). */
  responseFlags: string;
  /** Why the response is what it is, e.g. "via_upstream", "no_healthy_upstream" (see response-flags.ts). */
  responseCodeDetails: string;
  connectionTerminationDetails?: string;
  upstreamTransportFailureReason?: string;
  /** Request body bytes. */
  bytesReceived: number;
  /** Response body bytes. */
  bytesSent: number;
  /** Total time in ms from first request byte to last response byte; logged as whole ms. */
  durationMs: number;
  /** Time in ms the upstream took, from request sent to response head received; -1 or absent when none. */
  upstreamServiceTimeMs?: number;
  xForwardedFor?: string;
  userAgent?: string;
  requestId?: string;
  authority?: string;
  /** "ip:port" of the upstream endpoint. */
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  downstreamLocalAddress?: string;
  downstreamRemoteAddress?: string;
  requestedServerName?: string;
  routeName?: string;
  /** The client's SPIFFE ID from its mTLS certificate [%DOWNSTREAM_PEER_URI_SAN%]. */
  downstreamPeerPrincipal?: string;
  /** The traceparent sent upstream. */
  traceparent?: string;
  traceId?: string;
}

/** Fields of one TCP connection's line. */
export interface TcpAccessLogRecord {
  startTimeMs: number;
  responseFlags: string;
  connectionTerminationDetails?: string;
  upstreamTransportFailureReason?: string;
  /** Bytes from the downstream. */
  bytesReceived: number;
  /** Bytes to the downstream. */
  bytesSent: number;
  durationMs: number;
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  downstreamLocalAddress?: string;
  downstreamRemoteAddress?: string;
  requestedServerName?: string;
  downstreamPeerPrincipal?: string;
}

/** The JSON line (without the line feed) for one HTTP request. */
export function formatHttpAccessLog(r: HttpAccessLogRecord): string {
  return (
    '{"start_time":"' + formatTimestamp(r.startTimeMs) +
    '","method":' + jsonString(r.method) +
    ',"path":' + jsonString(r.path) +
    ',"protocol":' + jsonStringOrNull(r.protocol) +
    ',"response_code":' + jsonNumberOrNull(r.responseCode) +
    ',"response_flags":' + jsonString(r.responseFlags) +
    ',"response_code_details":' + jsonStringOrNull(r.responseCodeDetails) +
    ',"connection_termination_details":' + jsonStringOrNull(r.connectionTerminationDetails) +
    ',"upstream_transport_failure_reason":' + jsonStringOrNull(r.upstreamTransportFailureReason) +
    ',"bytes_received":' + jsonNumberOrNull(r.bytesReceived) +
    ',"bytes_sent":' + jsonNumberOrNull(r.bytesSent) +
    ',"duration":' + jsonMillisOrNull(r.durationMs) +
    ',"upstream_service_time":' + jsonMillisOrNull(r.upstreamServiceTimeMs) +
    ',"x_forwarded_for":' + jsonStringOrNull(r.xForwardedFor) +
    ',"user_agent":' + jsonStringOrNull(r.userAgent) +
    ',"request_id":' + jsonStringOrNull(r.requestId) +
    ',"authority":' + jsonStringOrNull(r.authority) +
    ',"upstream_host":' + jsonStringOrNull(r.upstreamHost) +
    ',"upstream_cluster":' + jsonStringOrNull(r.upstreamCluster) +
    ',"upstream_local_address":' + jsonStringOrNull(r.upstreamLocalAddress) +
    ',"downstream_local_address":' + jsonStringOrNull(r.downstreamLocalAddress) +
    ',"downstream_remote_address":' + jsonStringOrNull(r.downstreamRemoteAddress) +
    ',"requested_server_name":' + jsonStringOrNull(r.requestedServerName) +
    ',"route_name":' + jsonStringOrNull(r.routeName) +
    ',"downstream_peer_principal":' + jsonStringOrNull(r.downstreamPeerPrincipal) +
    ',"traceparent":' + jsonStringOrNull(r.traceparent) +
    ',"trace_id":' + jsonStringOrNull(r.traceId) +
    '}'
  );
}

/** The JSON line (without the line feed) for one TCP connection; protocol is "TCP". */
export function formatTcpAccessLog(r: TcpAccessLogRecord): string {
  return (
    '{"start_time":"' + formatTimestamp(r.startTimeMs) +
    '","protocol":"TCP","response_flags":' + jsonString(r.responseFlags) +
    ',"connection_termination_details":' + jsonStringOrNull(r.connectionTerminationDetails) +
    ',"upstream_transport_failure_reason":' + jsonStringOrNull(r.upstreamTransportFailureReason) +
    ',"bytes_received":' + jsonNumberOrNull(r.bytesReceived) +
    ',"bytes_sent":' + jsonNumberOrNull(r.bytesSent) +
    ',"duration":' + jsonMillisOrNull(r.durationMs) +
    ',"upstream_host":' + jsonStringOrNull(r.upstreamHost) +
    ',"upstream_cluster":' + jsonStringOrNull(r.upstreamCluster) +
    ',"upstream_local_address":' + jsonStringOrNull(r.upstreamLocalAddress) +
    ',"downstream_local_address":' + jsonStringOrNull(r.downstreamLocalAddress) +
    ',"downstream_remote_address":' + jsonStringOrNull(r.downstreamRemoteAddress) +
    ',"requested_server_name":' + jsonStringOrNull(r.requestedServerName) +
    ',"downstream_peer_principal":' + jsonStringOrNull(r.downstreamPeerPrincipal) +
    '}'
  );
}

const K = {
  start: constantText('{"start_time":"'),
  method: constantText('","method":'),
  path: constantText(',"path":'),
  protocol: constantText(',"protocol":'),
  code: constantText(',"response_code":'),
  flags: constantText(',"response_flags":'),
  details: constantText(',"response_code_details":'),
  termination: constantText(',"connection_termination_details":'),
  transport: constantText(',"upstream_transport_failure_reason":'),
  received: constantText(',"bytes_received":'),
  sent: constantText(',"bytes_sent":'),
  duration: constantText(',"duration":'),
  serviceTime: constantText(',"upstream_service_time":'),
  xff: constantText(',"x_forwarded_for":'),
  userAgent: constantText(',"user_agent":'),
  requestId: constantText(',"request_id":'),
  authority: constantText(',"authority":'),
  upstreamHost: constantText(',"upstream_host":'),
  upstreamCluster: constantText(',"upstream_cluster":'),
  upstreamLocal: constantText(',"upstream_local_address":'),
  downstreamLocal: constantText(',"downstream_local_address":'),
  downstreamRemote: constantText(',"downstream_remote_address":'),
  sni: constantText(',"requested_server_name":'),
  route: constantText(',"route_name":'),
  principal: constantText(',"downstream_peer_principal":'),
  traceparent: constantText(',"traceparent":'),
  traceId: constantText(',"trace_id":'),
  end: constantText('}'),
};

/**
 * The same line as formatHttpAccessLog, appended piece by piece into a writer's batch (the data
 * path's form: no intermediate string). A test holds the two to byte equality.
 */
export function encodeHttpAccessLog(out: LineBytes, r: HttpAccessLogRecord): void {
  appendText(out, K.start);
  appendAscii(out, formatTimestamp(r.startTimeMs));
  appendText(out, K.method);
  appendJson(out, r.method);
  appendText(out, K.path);
  appendJson(out, r.path);
  appendText(out, K.protocol);
  appendJsonOrNull(out, r.protocol);
  appendText(out, K.code);
  appendNumberOrNull(out, r.responseCode);
  appendText(out, K.flags);
  appendJson(out, r.responseFlags);
  appendText(out, K.details);
  appendJsonOrNull(out, r.responseCodeDetails);
  appendText(out, K.termination);
  appendJsonOrNull(out, r.connectionTerminationDetails);
  appendText(out, K.transport);
  appendJsonOrNull(out, r.upstreamTransportFailureReason);
  appendText(out, K.received);
  appendNumberOrNull(out, r.bytesReceived);
  appendText(out, K.sent);
  appendNumberOrNull(out, r.bytesSent);
  appendText(out, K.duration);
  appendMillisOrNull(out, r.durationMs);
  appendText(out, K.serviceTime);
  appendMillisOrNull(out, r.upstreamServiceTimeMs);
  appendText(out, K.xff);
  appendJsonOrNull(out, r.xForwardedFor);
  appendText(out, K.userAgent);
  appendJsonOrNull(out, r.userAgent);
  appendText(out, K.requestId);
  appendJsonOrNull(out, r.requestId);
  appendText(out, K.authority);
  appendJsonOrNull(out, r.authority);
  appendText(out, K.upstreamHost);
  appendJsonOrNull(out, r.upstreamHost);
  appendText(out, K.upstreamCluster);
  appendJsonOrNull(out, r.upstreamCluster);
  appendText(out, K.upstreamLocal);
  appendJsonOrNull(out, r.upstreamLocalAddress);
  appendText(out, K.downstreamLocal);
  appendJsonOrNull(out, r.downstreamLocalAddress);
  appendText(out, K.downstreamRemote);
  appendJsonOrNull(out, r.downstreamRemoteAddress);
  appendText(out, K.sni);
  appendJsonOrNull(out, r.requestedServerName);
  appendText(out, K.route);
  appendJsonOrNull(out, r.routeName);
  appendText(out, K.principal);
  appendJsonOrNull(out, r.downstreamPeerPrincipal);
  appendText(out, K.traceparent);
  appendJsonOrNull(out, r.traceparent);
  appendText(out, K.traceId);
  appendJsonOrNull(out, r.traceId);
  appendText(out, K.end);
}
