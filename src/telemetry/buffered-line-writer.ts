import type { ChunkSink } from './chunk-sink.js';

/** Tuning of a BufferedLineWriter. */
export interface LineWriterOptions {
  /** Longest time a line waits before it is written (ms). */
  flushIntervalMs?: number;
  /** A batch this large (in characters) is written at once instead of waiting for the timer. */
  flushChars?: number;
  /** Characters held (waiting plus being written) beyond which new lines are dropped and counted. */
  maxBufferedChars?: number;
  /** Told how many lines were dropped, e.g. to increment a counter. */
  onDrop?: (lines: number) => void;
}

/**
 * Batches lines and hands them to a sink one batch at a time. It never blocks the caller and never
 * grows without bound: while the sink is slow, lines wait up to a limit, then new lines are dropped
 * and counted; once the sink fails (EPIPE when the reader of stdout is gone), every line is dropped
 * and counted and nothing throws.
 */
export class BufferedLineWriter {
  private pending: string[] = [];
  private pendingChars = 0;
  private inFlightChars = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private idleWaiters: Array<() => void> = [];
  private readonly flushIntervalMs: number;
  private readonly flushChars: number;
  private readonly maxBufferedChars: number;
  private readonly onDrop: ((lines: number) => void) | undefined;
  /** Lines dropped so far. */
  droppedLines = 0;
  /** The sink's error, once it has failed. */
  error: Error | undefined;

  constructor(
    private readonly sink: ChunkSink,
    options: LineWriterOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.flushChars = options.flushChars ?? 64 * 1024;
    this.maxBufferedChars = options.maxBufferedChars ?? 4 * 1024 * 1024;
    this.onDrop = options.onDrop;
  }

  /** Queues one line (without its line feed); false when it was dropped. */
  write(line: string): boolean {
    const size = line.length + 1;
    if (this.error !== undefined || this.closing || this.pendingChars + this.inFlightChars + size > this.maxBufferedChars) {
      this.drop(1);
      return false;
    }
    this.pending.push(line);
    this.pendingChars += size;
    if (this.pendingChars >= this.flushChars) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.flushIntervalMs).unref();
    return true;
  }

  /** Characters waiting or being written. */
  get bufferedChars(): number {
    return this.pendingChars + this.inFlightChars;
  }

  /** Starts writing what is waiting, unless a write is already under way (it continues when that one ends). */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.inFlightChars > 0 || this.pending.length === 0 || this.error !== undefined) return;
    const lines = this.pending;
    const batch = lines.join('\n') + '\n';
    this.pending = [];
    this.inFlightChars = this.pendingChars;
    this.pendingChars = 0;
    this.sink.write(batch, (err) => this.written(err, lines.length));
  }

  /** Writes what is left and releases the sink; resolves when done, or after `timeoutMs` if the sink is stuck. */
  async close(timeoutMs = 2000): Promise<void> {
    this.closing = true;
    this.flush();
    if (this.inFlightChars > 0 || this.pending.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs).unref();
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.pending.length > 0) this.drop(this.pending.length);
    this.pending = [];
    this.pendingChars = 0;
    this.sink.close();
  }

  private written(err: Error | null, lines: number): void {
    this.inFlightChars = 0;
    if (err !== null) {
      this.error = err;
      this.drop(lines + this.pending.length);
      this.pending = [];
      this.pendingChars = 0;
    } else if (this.pending.length > 0) {
      this.flush();
      return;
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
