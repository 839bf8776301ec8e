import type { Counter } from '../telemetry/counter.js';

/**
 * Counters that mirror a total the data path keeps itself (a cluster's connections, keyd's signing
 * failures). /reset_counters zeroes the registry's counters; a mirrored one then counts from the total
 * at that moment, or the next mirror would bring the old count back.
 */
export class MirroredCounters {
  private readonly zeroAt = new WeakMap<Counter, number>();
  /** The totals of the last mirror, which a reset takes as the new zeros. */
  private lastTotals = new Map<Counter, number>();
  private nextTotals = new Map<Counter, number>();

  /** Sets `counter` to `total` since the last reset; a counter never goes down. */
  mirror(counter: Counter, total: number): void {
    this.nextTotals.set(counter, total);
    const value = total - (this.zeroAt.get(counter) ?? 0);
    if (value > counter.value) counter.value = value;
  }

  /** Ends one round of mirror() calls: counters not mirrored in it (a removed cluster's) are forgotten. */
  endRound(): void {
    this.lastTotals = this.nextTotals;
    this.nextTotals = new Map();
  }

  /** After the registry zeroed its counters: each mirrored counter counts from the total it last mirrored. */
  restartFromLastTotals(): void {
    for (const [counter, total] of this.lastTotals) this.zeroAt.set(counter, total);
  }
}
