/**
 * The access log the data path writes to: one JSON line per request or TCP connection, batched
 * to a file or stdout (model: HttpConnectionManager.accessLog / TcpProxy.accessLog entries).
 */
import { encodeHttpAccessLog, formatTcpAccessLog, type HttpAccessLogRecord, type TcpAccessLogRecord } from './access-log-format.js';
import { BufferedLineWriter, type LineWriterOptions } from './buffered-line-writer.js';
import { FdSink, type ChunkSink } from './chunk-sink.js';

/** Writes access log lines without blocking the event loop; see BufferedLineWriter for the limits. */
export class AccessLogger {
  private readonly writer: BufferedLineWriter;

  constructor(
    private readonly sink: ChunkSink,
    options: LineWriterOptions = {},
  ) {
    this.writer = new BufferedLineWriter(sink, options);
  }

  /** Opens the log file again by path (log rotation); stdout and stderr stay as they are. */
  reopen(): void {
    this.sink.reopen?.();
  }

  /** Opens an access log path (a file, or "/dev/stdout"); throws when it cannot be opened. */
  static open(path: string, options: LineWriterOptions = {}): AccessLogger {
    return new AccessLogger(FdSink.open(path), options);
  }

  /** Logs one finished HTTP request; false when the line was dropped. */
  logHttp(record: HttpAccessLogRecord): boolean {
    return this.writer.writeEncoded(encodeHttpAccessLog, record);
  }

  /** Logs a line some other format made (it ends in a newline); false when it was dropped. */
  logLine(line: string): boolean {
    return this.writer.write(line);
  }

  /** Logs one closed TCP connection; false when the line was dropped. */
  logTcp(record: TcpAccessLogRecord): boolean {
    return this.writer.write(formatTcpAccessLog(record));
  }

  /** Lines dropped because the sink was slow or had failed. */
  get droppedLines(): number {
    return this.writer.droppedLines;
  }

  /** The sink's error once it has failed (e.g. EPIPE), else undefined. */
  get error(): Error | undefined {
    return this.writer.error;
  }

  /** Writes any line still waiting now instead of at the next timer tick. */
  flush(): void {
    this.writer.flush();
  }

  /** Flushes and closes, for shutdown; resolves after `timeoutMs` at most. */
  close(timeoutMs?: number): Promise<void> {
    return this.writer.close(timeoutMs);
  }
}
