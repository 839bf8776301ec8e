/** How the call loops of a fixed-rate run (-qps) are timed: Fortio's -uniform, -jitter and -nocatchup. */
export interface ScheduleOptions {
  /** Start of the loops' schedules spread over one interval (-uniform); otherwise they all start at 0. */
  uniform: boolean;
  /** Each wait for a slot lengthened or shortened by up to 10 % (-jitter). */
  jitter: boolean;
  /** Slots already past when a loop gets to them are skipped instead of sent late (-nocatchup). */
  noCatchUp: boolean;
}

/**
 * One call loop's timeline at a fixed rate, as Fortio's runOne keeps it: call i at
 * offset + i·period, where period is loops/qps (each loop keeps qps/loops). With a count and a
 * duration (Fortio's "hasDuration", any run but -t 0), the count is spread to the end:
 * call i at offset + (i + i/(calls−1))·period, so the last one goes out as the duration ends.
 * Times are milliseconds from the start of the run.
 */
export class LoopSchedule {
  /** The index of the next call; a skipped slot (-nocatchup) uses one up, as in Fortio. */
  private i = 0;
  private readonly period: number;
  private readonly offset: number;

  constructor(
    intervalMs: number,
    loops: number,
    index: number,
    /** The loop's calls, 0 for no count. */
    private readonly calls: number,
    /** Spread the count to the end of the run's duration. */
    private readonly spread: boolean,
    private readonly o: ScheduleOptions,
    private readonly random: () => number = Math.random,
  ) {
    this.period = intervalMs * loops;
    // As Fortio's -uniform: loop j starts j intervals in, so the loops' calls interleave evenly.
    this.offset = o.uniform ? index * intervalMs : 0;
  }

  /** The index of the call nextSlot returned last. */
  get index(): number {
    return this.i - 1;
  }

  /** The slot of this loop's next call given the time now, or undefined when it has made its calls. */
  nextSlot(now: number): number | undefined {
    for (;;) {
      if (this.calls > 0 && this.i >= this.calls) return undefined;
      const slot = this.offset + this.target(this.i);
      this.i++;
      // The slots missed during a stall are dropped, not sent in a burst (never the first call).
      if (this.o.noCatchUp && this.i > 1 && slot < now) continue;
      return slot;
    }
  }

  private target(i: number): number {
    return this.spread && this.calls > 1 ? (i + i / (this.calls - 1)) * this.period : i * this.period;
  }

  /** How long to wait for a slot `ahead` ms away: with -jitter, up to ±10 % of the wait, as Fortio's. */
  wait(ahead: number): number {
    if (!this.o.jitter) return ahead;
    return ahead + (this.random() * 2 - 1) * (ahead / 10);
  }
}
