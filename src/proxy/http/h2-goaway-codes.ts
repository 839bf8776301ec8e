/**
 * The right GOAWAY error code for a client's protocol fault.
 *
 * Why: nghttp2 finds the fault (a WINDOW_UPDATE of 0, HEADERS on a server stream id, a bad SETTINGS
 * value, ...) and would say PROTOCOL_ERROR, but node:http2 reacts to its report by destroying the
 * session with an NghttpError and no code, and destroy() then sends GOAWAY INTERNAL_ERROR: the client
 * is told the proxy failed when it was the client that broke the protocol (RFC 9113 §5.4.1 asks for
 * the code that names the fault). Wrapping one session's destroy() gives that call the code.
 */
import http2 from 'node:http2';

const { NGHTTP2_PROTOCOL_ERROR, NGHTTP2_FRAME_SIZE_ERROR, NGHTTP2_COMPRESSION_ERROR, NGHTTP2_FLOW_CONTROL_ERROR, NGHTTP2_STREAM_CLOSED } = http2.constants;

/** nghttp2's library error numbers (nghttp2.h) for faults of the peer, and the HTTP/2 code each means. */
const CODE_FOR_LIBRARY_ERROR = new Map<number, number>([
  [-505, NGHTTP2_PROTOCOL_ERROR], // NGHTTP2_ERR_PROTO
  [-510, NGHTTP2_STREAM_CLOSED], // NGHTTP2_ERR_STREAM_CLOSED
  [-522, NGHTTP2_FRAME_SIZE_ERROR], // NGHTTP2_ERR_FRAME_SIZE_ERROR
  [-523, NGHTTP2_COMPRESSION_ERROR], // NGHTTP2_ERR_HEADER_COMP
  [-524, NGHTTP2_FLOW_CONTROL_ERROR], // NGHTTP2_ERR_FLOW_CONTROL
  [-536, NGHTTP2_PROTOCOL_ERROR], // NGHTTP2_ERR_SETTINGS_EXPECTED
]);

/** The HTTP/2 error code for an error node:http2 destroys a session with, when it is a peer's protocol fault. */
export function goawayCodeFor(error: unknown): number | undefined {
  if (!(error instanceof Error) || (error as NodeJS.ErrnoException).code !== 'ERR_HTTP2_ERROR') return undefined;
  return CODE_FOR_LIBRARY_ERROR.get((error as NodeJS.ErrnoException).errno ?? 0);
}

/** Makes `session` send the fault's own code when node:http2 destroys it for a protocol fault. */
export function sendFaultCodesOnDestroy(session: http2.Http2Session): void {
  const destroy = session.destroy;
  session.destroy = function destroyWithFaultCode(this: http2.Http2Session, error?: Error, code?: number): void {
    destroy.call(this, error, code ?? goawayCodeFor(error));
  };
}
