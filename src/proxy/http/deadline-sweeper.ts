import { SlotList, type SlotListMember } from '../../util/slot-list.js';
// The module binding: the global `performance` is a lazy getter, a call per read on the hot path.
import { performance } from 'node:perf_hooks';

/** Something with a deadline that the sweeper checks. */
export interface DeadlineHolder extends SlotListMember {
  /** performance.now() time at which onDeadline() is due; 0 means none. */
  deadline: number;
  onDeadline(): void;
}

/** How often deadlines are checked; connection timeouts are seconds long, so this is their precision. */
const SWEEP_MS = 100;

/**
 * Connection-level timeouts (slow head, stream idle, keep-alive idle) change on every request, and a
 * setTimeout/clearTimeout pair per change cost more than the rest of the timeout handling. Here a
 * holder only writes its deadline; one interval per process finds the ones that are due.
 * The holders are a SlotList, not a Set (see slot-list.ts for why): connections churn too.
 */
class DeadlineSweeper {
  private readonly holders = new SlotList<DeadlineHolder>();
  private interval: NodeJS.Timeout | undefined;

  add(holder: DeadlineHolder): void {
    this.holders.add(holder);
    if (this.interval === undefined) {
      this.interval = setInterval(sweep, SWEEP_MS, this);
      this.interval.unref();
    }
  }

  remove(holder: DeadlineHolder): void {
    this.holders.remove(holder);
    if (this.holders.size === 0 && this.interval !== undefined) {
      clearInterval(this.interval);
      this.interval = undefined;
    }
  }

  sweep(): void {
    const now = performance.now();
    // Every 100 ms, not per request: a closure per sweep costs nothing.
    this.holders.forEach((h) => {
      if (h.deadline !== 0 && h.deadline <= now) {
        h.deadline = 0;
        h.onDeadline();
      }
    });
  }
}

function sweep(s: DeadlineSweeper): void {
  s.sweep();
}

/** The process's sweeper. */
export const deadlineSweeper = new DeadlineSweeper();
