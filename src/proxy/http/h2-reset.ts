/**
 * Resets an HTTP/2 stream: RST_STREAM with `code`, and no END_STREAM before it.
 *
 * Why: node:http2's `stream.close(code)` ends the writable side first, so the peer reads END_STREAM
 * and only then the reset, which it ignores on a closed stream. A response cut short (the upstream
 * reset, a timeout after the head) then looks complete to the client, and a request body cut short
 * (the client went away mid-upload) looks complete to the upstream. The native stream's
 * `rstStream` sends what is already queued, then the reset; `close(code)` afterwards only settles
 * the JavaScript side. That handle sits under an internal symbol: when it is missing, `close(code)`
 * is all this Node offers, and it is used as is.
 */
import type http2 from 'node:http2';

interface NativeStream {
  rstStream(code: number): void;
}

let handleSymbol: symbol | null | undefined;

function nativeStream(stream: http2.Http2Stream): NativeStream | null {
  if (handleSymbol === undefined) {
    handleSymbol = Object.getOwnPropertySymbols(stream).find((s) => s.description === 'kHandle') ?? null;
  }
  if (handleSymbol === null) return null;
  const handle = (stream as unknown as Record<symbol, unknown>)[handleSymbol] as Partial<NativeStream> | undefined;
  return handle !== undefined && typeof handle.rstStream === 'function' ? (handle as NativeStream) : null;
}

export function resetStream(stream: http2.Http2Stream, code: number): void {
  if (stream.destroyed || stream.closed) return;
  // A stream whose both sides have ended has nothing left to cut.
  if (!stream.writableEnded) nativeStream(stream)?.rstStream(code);
  stream.close(code);
}
