import { MetricFamily } from './metric-family.js';

/** One counter series: a number that only goes up. */
export class Counter {
  value = 0;

  /** Adds n (default 1); negative or NaN increments are ignored, as a counter never goes down. */
  inc(n = 1): void {
    if (n > 0) this.value += n;
  }
}

/** A counter family; `bind(labelValues)` gives the per-label-set Counter. */
export class CounterFamily extends MetricFamily<Counter> {
  readonly type = 'counter';

  protected createChild(): Counter {
    return new Counter();
  }
}
