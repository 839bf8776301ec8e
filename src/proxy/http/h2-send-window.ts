import type { ClientHttp2Session } from 'node:http2';

/** The DATA frame size every HTTP/2 peer accepts (SETTINGS_MAX_FRAME_SIZE's initial value, RFC 9113 §6.5.2). */
const INITIAL_MAX_FRAME_SIZE = 16_384;

/**
 * Whether `session`'s connection-level send window is too small for the first DATA frame of a request
 * body of `contentLength` bytes (-1 when it is streamed): such a body would wait in node's queue for a
 * WINDOW_UPDATE. A peer that never returns window for the DATA it discards (haproxy 2.6 on a stream it
 * answered before reading the body) leaves a connection that stays so.
 */
export function sendWindowStarved(session: ClientHttp2Session, contentLength: number): boolean {
  const firstFrame = contentLength > 0 && contentLength < INITIAL_MAX_FRAME_SIZE ? contentLength : INITIAL_MAX_FRAME_SIZE;
  return (session.state.remoteWindowSize ?? 0) < firstFrame;
}
