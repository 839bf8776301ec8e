/**
 * Lets the owner of a TLS socket keep reading after one of its writes failed.
 *
 * Why: an upstream that answers before reading a request body (RFC 9112 §9.3) and closes makes its
 * kernel reset the connection; the proxy, still sending the body, gets EPIPE or ECONNRESET from a
 * write while the answer waits in its receive buffer. Node's Writable destroys a socket whose write
 * failed, answer and all. Plain TCP writes go through DirectWriter, which reports the failure
 * instead; a TLS socket's writes go through Writable (its TLS wrap takes one write at a time, which
 * Writable's queue provides).
 *
 * How: net.Socket sends every write, single or vectored, through `_writeGeneric(writev, data,
 * encoding, cb)`, and Writable has at most one in flight. The socket's own `_writeGeneric` is wrapped
 * once per connection to see each write's outcome: a failure the owner takes (`keepReading()` true)
 * is reported to Writable as done, so the socket lives on and its reads deliver the answer, then the
 * reset. The TLS wrap completes no write after a failed one, so the owner must stop writing.
 * `_writeGeneric` is an internal of net.Socket: without it the socket keeps Node's behaviour.
 */
import type { TLSSocket } from 'node:tls';

type WriteCallback = (err?: Error | null) => void;

interface GenericWrites {
  _writeGeneric(writev: boolean, data: unknown, encoding: string, cb: WriteCallback): void;
}

/** Wraps `socket`'s writes so that a failure `keepReading()` accepts does not destroy it. Returns false when Node offers no hook. */
export function keepReadingAfterWriteFailure(socket: TLSSocket, keepReading: () => boolean): boolean {
  const writes = socket as unknown as Partial<GenericWrites>;
  const writeGeneric = writes._writeGeneric;
  if (typeof writeGeneric !== 'function') return false;
  // Writable has one write in flight at a time: its callback waits here.
  let pending: WriteCallback | null = null;
  const done: WriteCallback = (err) => {
    const cb = pending!;
    pending = null;
    cb(err && !keepReading() ? err : null);
  };
  writes._writeGeneric = function (this: TLSSocket, writev, data, encoding, cb) {
    // A write made before the socket connected comes back here with `done` once it has.
    if (cb !== done) pending = cb;
    writeGeneric.call(this, writev, data, encoding, done);
  };
  return true;
}
