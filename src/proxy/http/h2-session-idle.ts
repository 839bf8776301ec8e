import type http2 from 'node:http2';
import { deadlineSweeper, type DeadlineHolder } from './deadline-sweeper.js';
// The module binding: the global `performance` is a lazy getter.
import { performance } from 'node:perf_hooks';

/**
 * Envoy's connection idle_timeout on one HTTP/2 session: once no stream has been open for `idleMs`,
 * the session is closed (GOAWAY, then the connection ends). A stream that is open but silent keeps
 * it, as in Envoy: the stream idle timeout is what bounds those.
 *
 * Not node:http2's session.setTimeout(): that one counts socket silence, not streams, and its timer
 * outlives the session (Node clears it only while the session is not yet destroyed, which it
 * already is by then), holding every closed session and its buffers until the timer fires, an hour
 * later by default.
 */
export class H2SessionIdle implements DeadlineHolder {
  deadline = 0;
  listSlot = -1;
  private openStreams = 0;

  constructor(
    private readonly session: http2.Http2Session,
    private readonly idleMs: number,
  ) {
    this.deadline = performance.now() + idleMs;
    deadlineSweeper.add(this);
  }

  streamOpened(): void {
    this.openStreams++;
    this.deadline = 0;
  }

  streamClosed(): void {
    if (--this.openStreams === 0) this.deadline = performance.now() + this.idleMs;
  }

  /** The session closed: nothing left to time. */
  stop(): void {
    this.deadline = 0;
    deadlineSweeper.remove(this);
  }

  onDeadline(): void {
    const s = this.session;
    if (this.openStreams === 0 && !s.closed && !s.destroyed) s.close();
  }
}
