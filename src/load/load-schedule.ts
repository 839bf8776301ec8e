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
 * One call loop's timeline at a fixed rate: slot k at offset + k·period, where period is
 * loops/qps (each loop keeps qps/loops). Times are milliseconds from the start of the run.
 */
export class LoopSchedule {
  private k = 0;
  private readonly period: number;
  private readonly offset: number;

  constructor(
    intervalMs: number,
    loops: number,
    index: number,
    private readonly o: ScheduleOptions,
    private readonly random: () => number = Math.random,
  ) {
    this.period = intervalMs * loops;
    // As Fortio's -uniform: loop j starts j intervals in, so the loops' calls interleave evenly.
    this.offset = o.uniform ? index * intervalMs : 0;
  }

  /** The slot of this loop's next call, given the time now. */
  nextSlot(now: number): number {
    let slot = this.offset + this.k * this.period;
    if (this.o.noCatchUp && slot < now) {
      // The slots missed during a stall are dropped, not sent in a burst: the next one still ahead.
      this.k = Math.ceil((now - this.offset) / this.period);
      slot = this.offset + this.k * this.period;
    }
    this.k++;
    return slot;
  }

  /** How long to wait for a slot `ahead` ms away: with -jitter, up to ±10 % of the wait, as Fortio's. */
  wait(ahead: number): number {
    if (!this.o.jitter) return ahead;
    return ahead + (this.random() * 2 - 1) * (ahead / 10);
  }
}
