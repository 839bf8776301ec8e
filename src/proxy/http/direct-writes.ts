/**
 * Direct writes for plain TCP sockets: the bytes go to the socket's handle the way net.Socket's
 * own `_write` sends them, without the Writable state machine in front.
 *
 * Why: every `socket.write()` walks Writable's buffering and callback bookkeeping and schedules a
 * nextTick (afterWrite) even when the kernel took every byte at once, which on this proxy's hot path
 * is almost always. Two writes per request (the upstream head, the downstream response) made that a
 * measurable share of the proxy's per-request cost (bench/proxy-instructions).
 *
 * How: a WriteWrap request and the handle's writeLatin1String / writeBuffer, as Node's
 * stream_base_commons does. A direct write is only issued while the Writable side has nothing
 * queued or in flight, so byte order holds: libuv keeps write requests in submission order, and any
 * later `socket.write()` (a large body, `end()`) queues behind ours. When the kernel could not take
 * everything, the request completes later and the writer reports backpressure (false) and calls
 * `onDrain` once all its requests are done, as 'drain' would. Those bindings are internals: when
 * one is missing, or the socket is not plain TCP, every write goes through `socket.write()`.
 */
import net from 'node:net';
import { getSystemErrorName } from 'node:util';

interface WriteRequest {
  handle: StreamHandle;
  oncomplete: (this: WriteRequest, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Buffer | null;
  callback: null;
  writer: DirectWriter | null;
}

interface StreamHandle {
  writeLatin1String(req: WriteRequest, data: string): number;
  writeBuffer(req: WriteRequest, data: Buffer): number;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

function loadBinding(): StreamWrapBinding | null {
  try {
    const binding = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    const { WriteWrap, streamBaseState, kLastWriteWasAsync } = binding;
    if (typeof WriteWrap !== 'function' || !(streamBaseState instanceof Int32Array) || typeof kLastWriteWasAsync !== 'number') return null;
    return { WriteWrap, streamBaseState, kLastWriteWasAsync };
  } catch {
    return null;
  }
}

const binding = loadBinding();

/**
 * The request object for the next direct write. Native code only takes a request over when the
 * write cannot finish at once, so one object serves every write the kernel takes whole (the usual
 * case); constructing one costs about as much as the rest of the write's JavaScript.
 */
let spareRequest: WriteRequest | null = null;

function onDirectWriteComplete(this: WriteRequest, status: number): void {
  const writer = this.writer;
  this.writer = null;
  this.buffer = null;
  writer?.completed(status);
}

/** Writes to one socket, directly when it can and through `socket.write()` otherwise. */
export class DirectWriter {
  /** Plain TCP on a Node with the bindings: its handle (a TCP wrap) takes direct writes. */
  readonly direct: boolean;
  /** Direct writes the kernel has not finished yet. */
  private inFlight = 0;

  constructor(
    private readonly socket: net.Socket,
    /** Called when every write that returned false has gone out. */
    private readonly onDrain: () => void,
    /** Called when a direct write fails; the socket is destroyed unless given. */
    private readonly onWriteError: (err: Error) => void = (err) => socket.destroy(err),
  ) {
    this.direct = binding !== null && socket.constructor === net.Socket;
    // 'drain' only follows a socket.write() that returned false; direct writes report their own.
    socket.on('drain', onDrain);
  }

  /** Writes a latin1 string (bytes 0-255 map 1:1). False when bytes wait: wait for onDrain. */
  writeLatin1(data: string): boolean {
    const handle = this.directHandle();
    if (handle === null) return this.socket.write(data, 'latin1');
    const req = this.request(handle);
    return this.dispatched(req, handle.writeLatin1String(req, data));
  }

  /** Writes bytes; the caller must not change them until the write completes (as with socket.write). */
  writeBuffer(data: Buffer): boolean {
    const handle = this.directHandle();
    if (handle === null) return this.socket.write(data);
    const req = this.request(handle);
    return this.dispatched(req, handle.writeBuffer(req, data));
  }

  /** Called by a request the kernel finished. */
  completed(status: number): void {
    this.inFlight--;
    const socket = this.socket;
    if (socket.destroyed) return;
    if (status < 0) {
      this.onWriteError(writeError(status));
      return;
    }
    // Bytes Writable queued behind ours are its own to report: a later write through it returns
    // false (and 'drain' follows) if they pile up.
    if (this.inFlight === 0) this.onDrain();
  }

  /** The handle to write to now, or null to go through socket.write(). */
  private directHandle(): StreamHandle | null {
    if (!this.direct) return null;
    const socket = this.socket;
    // Writable must have nothing queued or in flight, so these bytes cannot overtake its own; a
    // destroyed socket has no handle, and one still connecting cannot write yet.
    if (socket.writableLength !== 0 || socket.writableEnded || socket.connecting) return null;
    return (socket as unknown as { _handle: StreamHandle | null })._handle;
  }

  private request(handle: StreamHandle): WriteRequest {
    let req = spareRequest;
    if (req === null) {
      req = new binding!.WriteWrap();
      req.oncomplete = onDirectWriteComplete;
      req.async = false;
      req.bytes = 0;
      req.buffer = null;
      req.callback = null;
      req.writer = null;
      spareRequest = req;
    }
    req.handle = handle;
    return req;
  }

  private dispatched(req: WriteRequest, err: number): boolean {
    if (err !== 0) {
      spareRequest = null;
      this.onWriteError(writeError(err));
      return false;
    }
    if (binding!.streamBaseState[binding!.kLastWriteWasAsync] === 0) return true;
    // Part of it waits in libuv: the request is bound to that write now and completes later
    // (writeBuffer keeps the buffer on it); the next write gets a fresh one.
    spareRequest = null;
    req.async = true;
    req.writer = this;
    this.inFlight++;
    return false;
  }
}

function writeError(status: number): Error {
  const code = getSystemErrorName(status);
  const err = new Error(`write ${code}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = status;
  err.syscall = 'write';
  return err;
}
