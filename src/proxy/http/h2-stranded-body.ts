/**
 * How many request body bytes an HTTP/2 upstream connection may strand before it is retired.
 *
 * A stream that closes with part of its request body still queued in node:http2 strands those
 * bytes: the upstream answered first and gave no flow-control window for the rest (haproxy 2.6 never
 * returns connection-level window for the DATA it discards on a stream it answered early, so after
 * 64 KB nothing more can be sent on that connection). node drops the queued bytes but goes on
 * counting them against the session's maxSessionMemory (Http2Stream::Destroy cancels queued writes
 * without taking them off the count). Once that count passes the limit (10 MB by default), node
 * refuses every response header block on the session with RST_STREAM(ENHANCE_YOUR_CALM): each later
 * request fails although the upstream answered it. A connection that has stranded this much takes
 * no new streams and closes once its open ones are done; its successor starts from a clean count
 * and a fresh window. Well under node's limit, which also counts live writes and headers.
 */
export const STRANDED_BODY_LIMIT = 4_000_000;
