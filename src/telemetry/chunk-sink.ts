import { closeSync, openSync, write as fsWrite } from 'node:fs';

/** Where a BufferedLineWriter puts its batches: one write at a time, completion by callback. */
export interface ChunkSink {
  write(data: Buffer, done: (err: Error | null) => void): void;
  /** Releases the sink (closes a file it opened; leaves stdout open). */
  close(): void;
}

const EAGAIN_RETRY_MS = 20;

/**
 * Writes to a file descriptor with fs.write on libuv's thread pool, so a slow disk or a full pipe
 * never blocks the event loop (process.stdout would: pipes and files are synchronous there on Linux).
 * A non-blocking descriptor that is full (EAGAIN) is retried after a short pause; other errors,
 * such as EPIPE once the reader is gone, are handed to the writer.
 */
export class FdSink implements ChunkSink {
  private constructor(
    private readonly fd: number,
    private readonly ownsFd: boolean,
  ) {}

  /** Opens a path for appending; "/dev/stdout" and "/dev/stderr" use the process's own descriptors. */
  static open(path: string): FdSink {
    if (path === '/dev/stdout') return new FdSink(1, false);
    if (path === '/dev/stderr') return new FdSink(2, false);
    return new FdSink(openSync(path, 'a'), true);
  }

  /** Wraps a descriptor the caller owns (e.g. one end of a pipe in a test). */
  static fromFd(fd: number): FdSink {
    return new FdSink(fd, false);
  }

  write(data: Buffer, done: (err: Error | null) => void): void {
    this.writeFrom(data, 0, done);
  }

  close(): void {
    if (this.ownsFd) closeSync(this.fd);
  }

  private writeFrom(buf: Buffer, offset: number, done: (err: Error | null) => void): void {
    fsWrite(this.fd, buf, offset, buf.length - offset, null, (err, written) => {
      if (err !== null) {
        if (err.code === 'EAGAIN') setTimeout(() => this.writeFrom(buf, offset, done), EAGAIN_RETRY_MS).unref();
        else done(err);
        return;
      }
      if (offset + written < buf.length) this.writeFrom(buf, offset + written, done);
      else done(null);
    });
  }
}
