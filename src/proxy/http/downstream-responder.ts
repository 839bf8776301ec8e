import type { Socket } from 'node:net';
import type { HttpStream } from './http-stream.js';

/** How a stream writes its response to the downstream, whatever the codec (HTTP/1.1 or HTTP/2). */
export interface DownstreamResponder {
  readonly protocol: 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';
  /**
   * Writes the response head; contentLength is -1 when the body is streamed with unknown length.
   * With `holdUntilFlush`, a codec that batches writes may keep the head until the first body bytes,
   * the end, or flushHead(), whichever comes first (the caller promises one of them this turn).
   */
  sendHead(status: number, headers: string[], contentLength: number, endStream: boolean, holdUntilFlush?: boolean): void;
  /**
   * Writes an interim (1xx) response ahead of the final one; false when the client cannot take it
   * (an HTTP/1.0 client, RFC 9110 §15.2) or the stream is gone, and nothing was written.
   */
  sendInterim(status: number, headers: string[]): boolean;
  /** Writes a held response head now (the upstream read that carried it has been handled). */
  flushHead(): void;
  /**
   * Drops a head still held (see sendHead): true when nothing of the response has reached the
   * client, which may then be answered otherwise (the rest of the upstream read was malformed).
   */
  withdrawHeldHead(): boolean;
  /** Writes body bytes; false means the downstream is congested, wait for onDownstreamDrain. */
  sendBody(chunk: Buffer): boolean;
  sendEnd(trailers: string[] | undefined): void;
  /** Resets the response: it cannot be completed (upstream died mid-body). */
  abort(): void;
  /** Asks for one onDownstreamDrain call on the stream when the downstream can take more. */
  notifyDrain(stream: HttpStream): void;
  /** Switches the connection to a byte tunnel after a 101 from the upstream (HTTP/1.1 only). */
  startTunnel(responseHeaders: string[], upstream: Socket, upstreamHead: Buffer, stream: HttpStream): void;
  /** The route's idle timeout replaces the listener's stream idle timeout for this stream (ms; 0 = none). */
  setStreamIdleTimeout(ms: number): void;
  pauseRequestBody(): void;
  resumeRequestBody(): void;
}
