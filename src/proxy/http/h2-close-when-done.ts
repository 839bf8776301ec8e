/**
 * Closes an HTTP/2 connection once nghttp2 wants neither to read nor to write on it: after the
 * GOAWAY it sent itself for a client's connection error (a bad HPACK block, a CONTINUATION out of
 * place, a frame of the wrong size...), or after a client's GOAWAY once its streams are done.
 *
 * Why: RFC 9113 §5.4.1 says the endpoint MUST close the TCP connection after a GOAWAY for an error.
 * node:http2 only stops reading then and leaves the socket open until something else (the
 * keepalive sweep, the idle timeout) destroys the session.
 *
 * How: node's own hook for the end of a graceful close reports exactly that moment: the native
 * session calls `ongracefulclosecomplete` after a write when nghttp2 wants neither to read nor to
 * write, once `setGracefulClose()` has been called on it. Those are internals of node:http2, so each
 * piece is checked first; without them the keepalive sweep still closes the connection, later.
 */
import type http2 from 'node:http2';

interface NativeSession {
  setGracefulClose(): void;
  ongracefulclosecomplete: (() => void) | undefined;
}

let handleSymbol: symbol | null | undefined;

function nativeSession(session: http2.Http2Session): NativeSession | undefined {
  if (handleSymbol === undefined) handleSymbol = Object.getOwnPropertySymbols(session).find((s) => s.description === 'kHandle') ?? null;
  if (handleSymbol === null) return undefined;
  const handle = (session as unknown as Record<symbol, Partial<NativeSession> | undefined>)[handleSymbol];
  if (typeof handle?.setGracefulClose !== 'function' || typeof handle.ongracefulclosecomplete !== 'function') return undefined;
  return handle as NativeSession;
}

/**
 * Destroys `session` when nghttp2 is done with its connection, unless `keepOpen()` says a drain
 * owns its end. Returns false when this Node offers no such hook.
 */
export function closeWhenDone(session: http2.Http2Session, keepOpen: () => boolean): boolean {
  const handle = nativeSession(session);
  if (handle === undefined) return false;
  // node's own callback ends a close() that waited for streams: it still runs for that.
  const nodeCallback = handle.ongracefulclosecomplete!;
  handle.ongracefulclosecomplete = () => {
    if (session.closed || keepOpen()) nodeCallback();
    else if (!session.destroyed) session.destroy();
  };
  handle.setGracefulClose();
  return true;
}
