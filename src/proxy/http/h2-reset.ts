/**
 * Resets an HTTP/2 stream: RST_STREAM with `code`, and no END_STREAM before it.
 *
 * Why: node:http2's `stream.close(code)` ends the writable side first, so the peer reads END_STREAM
 * and only then the reset, which it ignores on a closed stream. A response cut short (the upstream
 * reset, a timeout after the head) then looks complete to the client, and a request body cut short
 * (the client went away mid-upload) looks complete to the upstream. The native stream's
 * `rstStream` sends what is already queued, then the reset. That handle sits under an internal
 * symbol: when it is missing, `close(code)` is all this Node offers, and it is used as is.
 *
 * The reset is submitted once, and the JavaScript side is left to node, which closes and destroys
 * the stream when nghttp2 reports it closed. Calling `close(code)` right after the native reset
 * submitted a second reset (close() resets too), and the process aborted with a corrupted heap
 * ("malloc(): mismatching next->prev_size") when an HTTP/2 upstream answered before the request
 * body was all sent. Nothing may be written to a stream once it is reset (see wasReset).
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

/** Streams reset natively here whose close node has not reported yet. */
const resetSent = new WeakSet<http2.Http2Stream>();

export function resetStream(stream: http2.Http2Stream, code: number): void {
  if (stream.destroyed || stream.closed || resetSent.has(stream)) return;
  // A stream whose both sides have ended has nothing left to cut; one not yet opened has no handle.
  const native = stream.writableEnded ? null : nativeStream(stream);
  if (native === null) {
    stream.close(code);
    return;
  }
  resetSent.add(stream);
  native.rstStream(code);
}

/** Whether the stream was reset here: nothing may be written to it any more. */
export function wasReset(stream: http2.Http2Stream): boolean {
  return resetSent.has(stream);
}
