import { closeSync, fstatSync, openSync, write as fsWrite } from 'node:fs';

/** Where a BufferedLineWriter puts its batches: one write at a time, completion by callback. */
export interface ChunkSink {
  write(data: Buffer, done: (err: Error | null) => void): void;
  /** Releases the sink (closes a file it opened; leaves stdout open). */
  close(): void;
  /** Opens its file again by path (after log rotation moved it); the next batch goes to the new file. */
  reopen?(): void;
}

const EAGAIN_RETRY_MS = 20;
/**
 * The most a write to a pipe keeps whole against other writers (POSIX PIPE_BUF, 4096 on Linux). Workers
 * share stdout: a larger write can be cut by another worker's once the pipe is full, tearing lines.
 */
const PIPE_ATOMIC_BYTES = 4096;

/**
 * Writes to a file descriptor with fs.write on libuv's thread pool, so a slow disk or a full pipe
 * never blocks the event loop (process.stdout would: pipes and files are synchronous there on Linux).
 * A non-blocking descriptor that is full (EAGAIN) is retried after a short pause; other errors,
 * such as EPIPE once the reader is gone, are handed to the writer.
 */
export class FdSink implements ChunkSink {
  /** A descriptor replaced by reopen() while a write to it was in flight: closed when that write ends. */
  private retired: number | undefined;
  private writing = false;

  /** The largest write kept whole against other processes writing to the same descriptor. */
  private readonly atomicBytes: number;

  private constructor(
    private fd: number,
    /** The file this sink opened (and may reopen), or undefined for a descriptor it does not own. */
    private readonly path: string | undefined,
  ) {
    // A regular file takes each append whole (the kernel serializes writes to one file); a pipe,
    // socket or terminal only up to PIPE_BUF.
    let regular = false;
    try {
      regular = fstatSync(fd).isFile();
    } catch {
      // a closed descriptor fails at the first write instead
    }
    this.atomicBytes = regular ? Infinity : PIPE_ATOMIC_BYTES;
  }

  /** Opens a path for appending; "/dev/stdout" and "/dev/stderr" use the process's own descriptors. */
  static open(path: string): FdSink {
    if (path === '/dev/stdout') return new FdSink(1, undefined);
    if (path === '/dev/stderr') return new FdSink(2, undefined);
    return new FdSink(openSync(path, 'a'), path);
  }

  /** Wraps a descriptor the caller owns (e.g. one end of a pipe in a test). */
  static fromFd(fd: number): FdSink {
    return new FdSink(fd, undefined);
  }

  write(data: Buffer, done: (err: Error | null) => void): void {
    this.writing = true;
    this.writePieces(this.fd, data, 0, (err) => {
      this.writing = false;
      this.closeRetired();
      done(err);
    });
  }

  /**
   * Writes data[from..] as whole lines in writes of at most atomicBytes each (a longer line goes alone,
   * in one write), so another process's writes fall between lines, never inside one.
   */
  private writePieces(fd: number, data: Buffer, from: number, done: (err: Error | null) => void): void {
    if (from >= data.length) {
      done(null);
      return;
    }
    let end = data.length;
    if (end - from > this.atomicBytes) {
      const lastNewline = data.lastIndexOf(0x0a, from + this.atomicBytes - 1);
      end = lastNewline >= from ? lastNewline + 1 : Math.min(data.length, data.indexOf(0x0a, from) + 1 || data.length);
    }
    const piece = end === data.length && from === 0 ? data : data.subarray(from, end);
    this.writeFrom(fd, piece, 0, (err) => {
      if (err !== null) done(err);
      else this.writePieces(fd, data, end, done);
    });
  }

  close(): void {
    if (this.path !== undefined) closeSync(this.fd);
    this.closeRetired();
  }

  /**
   * Opens the path again, as log rotation expects (Envoy reopens on SIGUSR1 or /reopen_logs). A
   * batch being written finishes in the old file, whose descriptor is closed after it; a path that
   * cannot be opened keeps the old descriptor and throws.
   */
  reopen(): void {
    if (this.path === undefined) return;
    const next = openSync(this.path, 'a');
    const old = this.fd;
    this.fd = next;
    // The batch in flight writes to the descriptor it started on: that one waits for it.
    if (this.writing && this.retired === undefined) this.retired = old;
    else closeSync(old);
  }

  private closeRetired(): void {
    if (this.retired === undefined || this.writing) return;
    closeSync(this.retired);
    this.retired = undefined;
  }

  /** Writes buf[offset..] to `fd`; a partial write continues on the same descriptor, even after reopen(). */
  private writeFrom(fd: number, buf: Buffer, offset: number, done: (err: Error | null) => void): void {
    fsWrite(fd, buf, offset, buf.length - offset, null, (err, written) => {
      if (err !== null) {
        if (err.code === 'EAGAIN') setTimeout(() => this.writeFrom(fd, buf, offset, done), EAGAIN_RETRY_MS).unref();
        else done(err);
        return;
      }
      if (offset + written < buf.length) this.writeFrom(fd, buf, offset + written, done);
      else done(null);
    });
  }
}
