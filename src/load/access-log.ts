import { closeSync, openSync, writeSync } from 'node:fs';
// The module binding: the global `performance` is a lazy getter.
import { performance } from 'node:perf_hooks';

/** -access-log-format: Fortio's two line formats. */
export type AccessLogFormat = 'json' | 'influx';

/** An access log that cannot be written (a bad format, a file that does not open): Fortio exits 1. */
export class AccessLogError extends Error {}

/** Opens -access-log-file in the -access-log-format (case-insensitive), with Fortio's messages when it cannot. */
export function openAccessLog(path: string, format: string): AccessLog {
  const f = format.toLowerCase();
  if (f !== 'json' && f !== 'influx') throw new AccessLogError(`invalid format "${format}", should be "json" or "influx"`);
  try {
    return new AccessLog(path, f);
  } catch (err) {
    throw new AccessLogError(`Unable to open access log ${path}: ${(err as Error).message}`);
  }
}

/** What the run's JSON says of the access log (Fortio's AccessLoggerInfo), and its "Starting at" line; "" for none. */
export function accessLogInfo(o: { accessLog: { path: string; format: string } | undefined }): string {
  return o.accessLog ? `mode ${o.accessLog.format.toLowerCase()} to ${o.accessLog.path}` : '';
}

/** Lines are written in blocks of about this size: a line per call would cost a system call per call. */
const FLUSH_BYTES = 64 * 1024;

/**
 * Fortio's -access-log-file: a line per call, appended to the file (periodic.go fileAccessLogger):
 * its latency in seconds, its start in Unix nanoseconds, the thread and its iteration, whether it
 * was OK, and its details (the HTTP status, or the gRPC outcome).
 */
export class AccessLog {
  private readonly fd: number;
  private pending = '';

  constructor(
    path: string,
    private readonly format: AccessLogFormat,
  ) {
    // As Fortio: O_APPEND|O_CREATE|O_WRONLY, 0644.
    this.fd = openSync(path, 'a', 0o644);
  }

  /** One call: `start` on the performance clock (ms), its latency in seconds. */
  report(thread: number, iter: number, start: number, latency: number, ok: boolean, details: string): void {
    const ns = unixNanos(start);
    // Go's %f (6 decimals) and %q (a quoted string; the details are ASCII).
    const seconds = latency.toFixed(6);
    const quoted = JSON.stringify(details);
    this.pending +=
      this.format === 'json'
        ? `{"latency":${seconds},"timestamp":${ns},"thread":${thread},"iter":${iter},"ok":${ok},"details":${quoted}}\n`
        : `latency,thread=${thread},ok=${ok} value=${seconds},details=${quoted} ${ns}\n`;
    if (this.pending.length >= FLUSH_BYTES) this.flush();
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.pending === '') return;
    writeSync(this.fd, this.pending);
    this.pending = '';
  }
}

/** A time on the performance clock as Unix nanoseconds (microsecond precision: a double holds no more). */
function unixNanos(perfMs: number): string {
  return `${Math.round((performance.timeOrigin + perfMs) * 1000)}000`;
}
