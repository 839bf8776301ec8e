import type { SocketStats } from './socket-stats.js';

/**
 * Called once per call with what it saw: the status (-1 for a transport error), the response body's
 * bytes, its head's bytes (0 when unknown) and the whole response's bytes on the wire (the body's
 * when unknown). The runner records from these what Fortio's clients would (fortioSizes). A tcp://
 * or udp:// call also gives its outcome as Fortio's runners name it ("OK" or the error's text).
 */
export type CallDone = (status: number, bodyBytes: number, headerBytes?: number, wireBytes?: number, outcome?: string) => void;

/** One client connection (or, with -new-conn, a connection per call) that carries one call at a time. */
export interface LoadConnection {
  call(done: CallDone): void;
  /** Abandons the call in flight (timeout) and the transport under it; a tcp:// or udp:// one says its outcome. */
  abort(): string | void;
  close(): void;
  /** Its sockets so far: attempts, peers, connect times, TLS handshakes. */
  readonly sockets: SocketStats;
}
