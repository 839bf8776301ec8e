import type { ChunkSink } from './chunk-sink.js';
import type { LineBytes } from './json-line.js';

/** Tuning of a BufferedLineWriter. */
export interface LineWriterOptions {
  /** Longest time a line waits before it is written (ms). */
  flushIntervalMs?: number;
  /** A batch this large (in bytes) is written at once instead of waiting for the timer. */
  flushBytes?: number;
  /** Bytes held (waiting plus being written) beyond which new lines are dropped and counted. */
  maxBufferedBytes?: number;
  /** Told how many lines were dropped, e.g. to increment a counter. */
  onDrop?: (lines: number) => void;
}

/**
 * Batches lines and hands them to a sink one batch at a time. It never blocks the caller and never
 * grows without bound: while the sink is slow, lines wait up to a limit, then new lines are dropped
 * and counted; once the sink fails (EPIPE when the reader of stdout is gone), every line is dropped
 * and counted and nothing throws.
 *
 * Each line is encoded straight into a reusable batch buffer as it arrives: no array of strings, no
 * join, no second copy when the batch is written (profiling showed those cost more than formatting).
 */
export class BufferedLineWriter implements LineBytes {
  private batch: Buffer;
  private batchBytes = 0;
  private batchLines = 0;
  /** The buffer of the write in flight, reused for the next batch once that write ends. */
  private spare: Buffer | undefined;
  private inFlightBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private idleWaiters: Array<() => void> = [];
  private readonly flushIntervalMs: number;
  private readonly flushBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly onDrop: ((lines: number) => void) | undefined;
  /** Where the line being written continues (LineBytes: encoders advance it). */
  pos = 0;
  /** Lines dropped so far. */
  droppedLines = 0;
  /** The sink's error, once it has failed. */
  error: Error | undefined;

  constructor(
    private readonly sink: ChunkSink,
    options: LineWriterOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.flushBytes = options.flushBytes ?? 64 * 1024;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.onDrop = options.onDrop;
    this.batch = Buffer.allocUnsafe(Math.min(this.flushBytes * 2, this.maxBufferedBytes) + 1024);
  }

  /** Queues one line (without its line feed); false when it was dropped. */
  write(line: string): boolean {
    if (!this.startLine(line.length + 1)) return false;
    // Latin-1, one byte per character: the data path decodes wire bytes as Latin-1, so this writes
    // them back exactly as they arrived (UTF-8 would encode them twice); all else is ASCII.
    this.pos += this.room(line.length).write(line, this.pos, 'latin1');
    return this.endLine();
  }

  /**
   * Queues one line that `encode` appends piece by piece (see json-line.ts), without building a
   * string first; false when it was dropped. `encode` is a plain function so no closure is made per line.
   */
  writeEncoded<T>(encode: (out: LineBytes, record: T) => void, record: T): boolean {
    if (!this.startLine(0)) return false;
    encode(this, record);
    return this.endLine();
  }

  /** Begins a line at the end of the batch unless the writer is failed, closing, or `size` bytes would not fit the bound. */
  private startLine(size: number): boolean {
    if (this.error !== undefined || this.closing || this.batchBytes + this.inFlightBytes + size > this.maxBufferedBytes) {
      this.drop(1);
      return false;
    }
    this.pos = this.batchBytes;
    return true;
  }

  /** Ends the line begun at batchBytes with a line feed and queues it (or drops it when it outgrew the bound). */
  private endLine(): boolean {
    this.room(1)[this.pos++] = 0x0a;
    if (this.pos + this.inFlightBytes > this.maxBufferedBytes) {
      this.drop(1);
      return false;
    }
    this.batchBytes = this.pos;
    this.batchLines++;
    if (this.batchBytes >= this.flushBytes) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(flushWriter, this.flushIntervalMs, this).unref();
    return true;
  }

  /** The batch with room for `n` more bytes of the line at `pos` (it grows; what is written so far moves along). */
  room(n: number): Buffer {
    if (this.pos + n > this.batch.length) {
      const next = Buffer.allocUnsafe(Math.max(this.batch.length * 2, this.pos + n));
      this.batch.copy(next, 0, 0, this.pos);
      this.batch = next;
    }
    return this.batch;
  }

  /** Bytes waiting or being written. */
  get bufferedBytes(): number {
    return this.batchBytes + this.inFlightBytes;
  }

  /** Starts writing what is waiting, unless a write is already under way (it continues when that one ends). */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.inFlightBytes > 0 || this.batchBytes === 0 || this.error !== undefined) return;
    const full = this.batch;
    const bytes = this.batchBytes;
    const lines = this.batchLines;
    this.batch = this.spare ?? Buffer.allocUnsafe(full.length);
    this.spare = undefined;
    this.batchBytes = 0;
    this.batchLines = 0;
    this.inFlightBytes = bytes;
    this.sink.write(full.subarray(0, bytes), (err) => this.written(err, lines, full));
  }

  /** Writes what is left and releases the sink; resolves when done, or after `timeoutMs` if the sink is stuck. */
  async close(timeoutMs = 2000): Promise<void> {
    this.closing = true;
    this.flush();
    if (this.inFlightBytes > 0 || this.batchBytes > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs).unref();
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.batchLines > 0) this.drop(this.batchLines);
    this.batchBytes = 0;
    this.batchLines = 0;
    this.sink.close();
  }

  private written(err: Error | null, lines: number, buffer: Buffer): void {
    this.inFlightBytes = 0;
    if (buffer.length <= this.batch.length) this.spare = buffer;
    if (err !== null) {
      this.error = err;
      this.drop(lines + this.batchLines);
      this.batchBytes = 0;
      this.batchLines = 0;
    } else if (this.batchBytes >= this.flushBytes || (this.closing && this.batchBytes > 0)) {
      this.flush();
      return;
    } else if (this.batchBytes > 0 && this.timer === undefined) {
      // A small batch waits for the timer: writing it at once would mean one thread-pool write
      // (and wake-up) per event-loop turn under load, which cost more than formatting the lines.
      this.timer = setTimeout(flushWriter, this.flushIntervalMs, this).unref();
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private drop(lines: number): void {
    this.droppedLines += lines;
    this.onDrop?.(lines);
  }
}

function flushWriter(writer: BufferedLineWriter): void {
  writer.flush();
}
