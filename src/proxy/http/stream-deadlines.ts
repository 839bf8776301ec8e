import { MAX_TIMER_MS } from '../../util/max-timer.js';
import { SlotList, type SlotListMember } from '../../util/slot-list.js';
// The module binding: the global `performance` is a lazy getter, a call per read on the hot path.
import { performance } from 'node:perf_hooks';

/** A stream with request, route and per-try deadlines (performance.now() ms; 0 = none). */
export interface StreamDeadlineHolder extends SlotListMember {
  /** The listener's requestTimeout: the whole request must arrive by then (Envoy's request_timeout). */
  requestDeadline: number;
  routeDeadline: number;
  perTryDeadline: number;
  requestTimeout(): void;
  routeTimeout(): void;
  perTryTimeout(): void;
}

/**
 * Request, route and per-try timeouts of the live streams, on one timer armed for the earliest deadline.
 * A setTimeout/clearTimeout pair per request (a Timeout object, a list insert, an unenroll) showed
 * up in every profile of the data path. Here a stream writes a number and joins a set; since most
 * routes share one timeout, a new deadline is almost never earlier than the armed one, and the timer
 * fires about once per timeout period, finds the streams due and re-arms for the next earliest.
 * The live streams are a SlotList, not a Set (see slot-list.ts for why).
 */
class StreamDeadlines {
  private readonly live = new SlotList<StreamDeadlineHolder>();
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (performance.now() ms); Infinity when none is armed. */
  private armedAt = Infinity;

  /** `holder` has a deadline at `at` (one of its two deadline fields, already set). */
  watch(holder: StreamDeadlineHolder, at: number): void {
    this.live.add(holder);
    if (at < this.armedAt) this.arm(at);
  }

  remove(holder: StreamDeadlineHolder): void {
    this.live.remove(holder);
  }

  /** Streams being watched. */
  get size(): number {
    return this.live.size;
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = at;
    // Capped at what a Node timer holds: beyond it setTimeout fires after 1 ms, and a deadline a
    // client sets (a huge grpc-timeout) would re-arm that in a loop. Fired early, it re-arms.
    this.timer = setTimeout(fire, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(at - performance.now()))), this);
    this.timer.unref();
  }

  fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    // Runs about once per timeout period, not per request: a closure per walk costs nothing.
    this.live.forEach((h) => {
      if (h.requestDeadline !== 0 && h.requestDeadline <= now) {
        h.requestDeadline = 0;
        h.requestTimeout();
      }
      if (h.perTryDeadline !== 0 && h.perTryDeadline <= now) {
        h.perTryDeadline = 0;
        h.perTryTimeout();
      }
      if (h.routeDeadline !== 0 && h.routeDeadline <= now) {
        h.routeDeadline = 0;
        h.routeTimeout();
      }
      // A timeout may have started a retry with a new per-try deadline: it counts for the next arming.
      if (h.perTryDeadline !== 0 && h.perTryDeadline < next) next = h.perTryDeadline;
      if (h.routeDeadline !== 0 && h.routeDeadline < next) next = h.routeDeadline;
      if (h.requestDeadline !== 0 && h.requestDeadline < next) next = h.requestDeadline;
      if (h.perTryDeadline === 0 && h.routeDeadline === 0 && h.requestDeadline === 0) this.live.remove(h);
    });
    if (next !== Infinity && next < this.armedAt) this.arm(next);
  }
}

function fire(d: StreamDeadlines): void {
  d.fire();
}

/** The process's stream deadlines. */
export const streamDeadlines = new StreamDeadlines();
