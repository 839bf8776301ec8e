/**
 * One JSON line per request or TCP connection, with the keys of Istio's default JSON access log
 * (Envoy command operators in brackets). Absent values are null, as in Envoy's JSON format.
 *
 * Built by concatenation: measured against JSON.stringify of the same object on Node 20
 * (see docs/metrics.md), concatenation with escaping only where needed is faster and needs no
 * intermediate object.
 */
import { jsonMillisOrNull, jsonNumberOrNull, jsonString, jsonStringOrNull } from './json-fragments.js';
import { FieldRun, jsonStringBound, latin1Bytes, putBytes, putJsonString, putJsonStringOrNull, putMillisOrNull, putNumberOrNull, type LineBytes } from './json-line.js';
import type { LogDetails } from './access-log-reads.js';
import { formatTimestamp, putTimestamp } from './log-timestamp.js';

/** Fields of one HTTP request's line. The data path may pass its own per-request state object if it has these fields. */
export interface HttpAccessLogRecord {
  /** Epoch ms when the first byte of the request arrived [%START_TIME%]. */
  startTimeMs: number;
  method: string;
  /** The path with the query as Istio logs it [%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%]: x-envoy-original-path when the request carries one (the path received, on a rewrite), else :path. */
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
  /** The request id was made by this proxy (a UUID): it is written without an escape check. */
  requestIdIsPlain?: boolean;
  authority?: string;
  /** "ip:port" of the upstream endpoint. */
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  downstreamLocalAddress?: string;
  /** The trusted client address: the peer, or an x-forwarded-for entry (see client-address.ts). */
  downstreamRemoteAddress?: string;
  /** The peer of the downstream connection, whatever x-forwarded-for says. */
  downstreamDirectRemoteAddress?: string;
  requestedServerName?: string;
  routeName?: string;
  /** The client's SPIFFE ID from its mTLS certificate [%DOWNSTREAM_PEER_URI_SAN%]. */
  downstreamPeerPrincipal?: string;
  /** The traceparent sent upstream. */
  traceparent?: string;
  /** The traceparent was formatted by this proxy from checked hex ids: written without an escape check. */
  traceparentIsPlain?: boolean;
  traceId?: string;
  /** What only some formats read (see access-log-reads.ts); absent when no format of the listener does. */
  details?: LogDetails;
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
  downstreamDirectRemoteAddress?: string;
  requestedServerName?: string;
  downstreamPeerPrincipal?: string;
  /** What only some formats read (see access-log-reads.ts); absent when no format of the listener does. */
  details?: LogDetails;
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

/** Runs of fields whose values mostly repeat from one request to the next (see FieldRun). */
const METHOD = new FieldRun<HttpAccessLogRecord>([['method', '","method":']], ',"path":');
const OUTCOME = new FieldRun<HttpAccessLogRecord>([
  ['protocol', ',"protocol":'],
  ['responseCode', ',"response_code":', 'number'],
  ['responseFlags', ',"response_flags":'],
  ['responseCodeDetails', ',"response_code_details":'],
  ['connectionTerminationDetails', ',"connection_termination_details":'],
  ['upstreamTransportFailureReason', ',"upstream_transport_failure_reason":'],
], ',"bytes_received":');
const CLIENT = new FieldRun<HttpAccessLogRecord>([
  ['xForwardedFor', ',"x_forwarded_for":'],
  ['userAgent', ',"user_agent":'],
], ',"request_id":');
const PEERS = new FieldRun<HttpAccessLogRecord>([
  ['authority', ',"authority":'],
  ['upstreamHost', ',"upstream_host":'],
  ['upstreamCluster', ',"upstream_cluster":'],
], ',"upstream_local_address":');
// The connections' own addresses change with every connection, so a run would rarely repeat: they
// are written one by one (addresses the proxy read from its sockets need no escape check).
const ROUTE = new FieldRun<HttpAccessLogRecord>([
  ['requestedServerName', ',"requested_server_name":'],
  ['routeName', ',"route_name":'],
  ['downstreamPeerPrincipal', ',"downstream_peer_principal":'],
], ',"traceparent":');

/** Keys before values that change with every request (a key right after a run is in the run's bytes). */
const K = {
  start: latin1Bytes('{"start_time":"'),
  sent: latin1Bytes(',"bytes_sent":'),
  duration: latin1Bytes(',"duration":'),
  serviceTime: latin1Bytes(',"upstream_service_time":'),
  traceId: latin1Bytes(',"trace_id":'),
  downstreamLocal: latin1Bytes(',"downstream_local_address":'),
  downstreamRemote: latin1Bytes(',"downstream_remote_address":'),
};

/** Room for the constant keys above, the timestamp and four numbers. */
const FIXED_BOUND = 512;

/**
 * The same line as formatHttpAccessLog, written straight into a writer's batch (the data path's
 * form: no intermediate string). A test holds the two to byte equality.
 */
export function encodeHttpAccessLog(out: LineBytes, r: HttpAccessLogRecord): void {
  const method = METHOD.bytes(r);
  const outcome = OUTCOME.bytes(r);
  const client = CLIENT.bytes(r);
  const peers = PEERS.bytes(r);
  const route = ROUTE.bytes(r);
  const bound =
    FIXED_BOUND + method.length + outcome.length + client.length + peers.length + route.length +
    jsonStringBound(r.path) + jsonStringBound(r.requestId) + jsonStringBound(r.traceparent) + jsonStringBound(r.traceId) +
    jsonStringBound(r.upstreamLocalAddress) + jsonStringBound(r.downstreamLocalAddress) + jsonStringBound(r.downstreamRemoteAddress);
  const b = out.room(bound);
  let p = putBytes(b, out.pos, K.start);
  p = putTimestamp(b, p, r.startTimeMs);
  p = putBytes(b, p, method);
  p = putJsonString(b, p, r.path);
  p = putBytes(b, p, outcome);
  p = putNumberOrNull(b, p, r.bytesReceived);
  p = putNumberOrNull(b, putBytes(b, p, K.sent), r.bytesSent);
  p = putMillisOrNull(b, putBytes(b, p, K.duration), r.durationMs);
  p = putMillisOrNull(b, putBytes(b, p, K.serviceTime), r.upstreamServiceTimeMs);
  p = putBytes(b, p, client);
  // Ids the proxy made itself skip the escape check (a regex over ~90 characters per line).
  p = putJsonStringOrNull(b, p, r.requestId, r.requestIdIsPlain === true);
  p = putBytes(b, p, peers);
  p = putJsonStringOrNull(b, p, r.upstreamLocalAddress, true);
  p = putJsonStringOrNull(b, putBytes(b, p, K.downstreamLocal), r.downstreamLocalAddress, true);
  p = putJsonStringOrNull(b, putBytes(b, p, K.downstreamRemote), r.downstreamRemoteAddress, true);
  p = putBytes(b, p, route);
  p = putJsonStringOrNull(b, p, r.traceparent, r.traceparentIsPlain === true);
  p = putJsonStringOrNull(b, putBytes(b, p, K.traceId), r.traceId);
  b[p++] = 0x7d;
  out.pos = p;
}
