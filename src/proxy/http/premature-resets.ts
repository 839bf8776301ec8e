/**
 * Counts an HTTP/2 connection's streams that the client reset before their response finished and
 * soon after opening them. Opening and cancelling streams in a loop (the "rapid reset" attack,
 * CVE-2023-44487) costs the client two frames and the proxy an upstream request each; a connection
 * that does mostly that is closed. The thresholds are Envoy's defaults: once 500 streams have closed,
 * half of them premature; before that, 250 premature resets.
 */
const STREAM_COUNT_LIMIT = 500;
/** A reset this soon after the stream opened counts as premature (ms). */
const MIN_STREAM_LIFETIME_MS = 1000;

export class PrematureResetGuard {
  private closedStreams = 0;
  private prematureResets = 0;

  /** A stream closed; `reset` when the client reset it before its response finished. Returns true when the connection should close. */
  onStreamClosed(reset: boolean, lifetimeMs: number): boolean {
    this.closedStreams++;
    if (reset && lifetimeMs < MIN_STREAM_LIFETIME_MS) this.prematureResets++;
    if (this.closedStreams < STREAM_COUNT_LIMIT) return this.prematureResets >= STREAM_COUNT_LIMIT / 2;
    return this.prematureResets * 2 >= this.closedStreams;
  }
}
