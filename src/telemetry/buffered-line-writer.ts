import type { ChunkSink } from './chunk-sink.js';
import { jsonString } from './json-fragments.js';
import type { LineAppender } from './line-appender.js';

/** The bytes of "null" as one big-endian word. */
const NULL = 0x6e756c6c;

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
export class BufferedLineWriter implements LineAppender {
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
  /** Where the line being encoded by writeEncoded() continues. */
  private pos = 0;
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
    const size = line.length + 1;
    if (this.error !== undefined || this.closing || this.batchBytes + this.inFlightBytes + size > this.maxBufferedBytes) {
      this.drop(1);
      return false;
    }
    if (this.batchBytes + size > this.batch.length) this.grow(size);
    // Latin-1, one byte per character: the data path decodes wire bytes as Latin-1, so this writes
    // them back exactly as they arrived (UTF-8 would encode them twice); all else is ASCII.
    const n = this.batch.write(line, this.batchBytes, 'latin1');
    this.batch[this.batchBytes + n] = 0x0a;
    this.batchBytes += n + 1;
    this.batchLines++;
    if (this.batchBytes >= this.flushBytes) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(flushWriter, this.flushIntervalMs, this).unref();
    return true;
  }

  /**
   * Queues one line that `encode` appends piece by piece (see LineAppender), without building a
   * string first; false when it was dropped. `encode` is a plain function so no closure is made per line.
   */
  writeEncoded<T>(encode: (out: LineAppender, record: T) => void, record: T): boolean {
    if (this.error !== undefined || this.closing) {
      this.drop(1);
      return false;
    }
    this.pos = this.batchBytes;
    encode(this, record);
    this.reserve(1);
    this.batch[this.pos++] = 0x0a;
    const size = this.pos - this.batchBytes;
    if (this.batchBytes + this.inFlightBytes + size > this.maxBufferedBytes) {
      this.drop(1);
      return false;
    }
    this.batchBytes = this.pos;
    this.batchLines++;
    if (this.batchBytes >= this.flushBytes) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(flushWriter, this.flushIntervalMs, this).unref();
    return true;
  }

  text(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.batch.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    const b = this.batch;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  json(s: string): void {
    const n = s.length;
    this.reserve(n + 2);
    const b = this.batch;
    const start = this.pos;
    let p = start;
    b[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0xff) {
        // Needs escaping or UTF-8 spelling: the string path knows how; rare on real traffic.
        const literal = jsonString(s);
        this.pos = start;
        this.reserve(literal.length);
        this.pos = start + this.batch.write(literal, start, 'latin1');
        return;
      }
      b[p++] = c;
    }
    b[p++] = 0x22;
    this.pos = p;
  }

  jsonOrNull(s: string | undefined): void {
    if (s === undefined || s === '') this.writeNull();
    else this.json(s);
  }

  numberOrNull(n: number | undefined): void {
    if (n === undefined || !(n >= 0) || n === Infinity) this.writeNull();
    else this.ascii(String(n));
  }

  millisOrNull(ms: number | undefined): void {
    if (ms === undefined || !(ms >= 0) || ms === Infinity) this.writeNull();
    else this.ascii(String(Math.floor(ms)));
  }

  private writeNull(): void {
    this.reserve(4);
    this.batch.writeUInt32BE(NULL, this.pos);
    this.pos += 4;
  }

  /** Room for `n` more bytes of the line being encoded (the batch grows; what is written so far moves along). */
  private reserve(n: number): void {
    if (this.pos + n > this.batch.length) {
      const next = Buffer.allocUnsafe(Math.max(this.batch.length * 2, this.pos + n));
      this.batch.copy(next, 0, 0, this.pos);
      this.batch = next;
    }
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

  private grow(needed: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.batch.length * 2, this.batchBytes + needed));
    this.batch.copy(next, 0, 0, this.batchBytes);
    this.batch = next;
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
