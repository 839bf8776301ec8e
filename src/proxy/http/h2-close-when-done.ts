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
 *
 * A drain keeps the connection open after its first GOAWAY (until drainTimeout, as Envoy does), but
 * nghttp2 wants no more reads once that GOAWAY is out and no stream is open, and node then stops
 * reading the socket: a client that closed its connection on the GOAWAY was not seen until the drain
 * ended, and a draining process waited for it. Reading is started again, so the client's FIN or reset
 * closes the session at once.
 */
import type http2 from 'node:http2';

interface NativeSession {
  setGracefulClose(): void;
  ongracefulclosecomplete: (() => void) | undefined;
}

/** The socket's own stream handle (a TCP or TLS wrap), which node:http2 reads through. */
interface ReadableHandle {
  readStart(): number;
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
    if (session.closed) nodeCallback();
    else if (keepOpen()) {
      nodeCallback();
      // node stops reading right after this hook returns: start again once it has.
      setImmediate(readAgain, session);
    } else if (!session.destroyed) session.destroy();
  };
  handle.setGracefulClose();
  return true;
}

/** Reads the connection of a session kept open by its drain, to hear the client close it. */
function readAgain(session: http2.Http2Session): void {
  if (session.destroyed) return;
  const socketHandle = (session.socket as unknown as { _handle?: Partial<ReadableHandle> | null })._handle;
  if (typeof socketHandle?.readStart === 'function') socketHandle.readStart();
}
