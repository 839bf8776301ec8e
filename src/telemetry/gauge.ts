import { MetricFamily } from './metric-family.js';

/** One gauge series: a number that goes up and down. */
export class Gauge {
  value = 0;

  /** Replaces the value. */
  set(v: number): void {
    this.value = v;
  }

  /** Adds n (default 1). */
  inc(n = 1): void {
    this.value += n;
  }

  /** Subtracts n (default 1). */
  dec(n = 1): void {
    this.value -= n;
  }
}

/** A gauge family; `bind(labelValues)` gives the per-label-set Gauge. */
export class GaugeFamily extends MetricFamily<Gauge> {
  readonly type = 'gauge';

  protected createChild(): Gauge {
    return new Gauge();
  }
}
