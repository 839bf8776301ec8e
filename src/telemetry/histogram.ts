import { MetricFamily, MetricsError, type MergeMode } from './metric-family.js';

/**
 * One histogram series over fixed bucket bounds. Counts are kept per bucket (not cumulative) so
 * that observe() touches one slot; the exporter accumulates them into Prometheus' `le` form.
 */
export class Histogram {
  /** counts[i] holds observations in (bounds[i-1], bounds[i]]; the last slot is (last bound, +Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records one value: a binary search over the bounds and three additions. NaN is ignored. */
  observe(v: number): void {
    if (v !== v) return;
    const b = this.bounds;
    let lo = 0;
    let hi = b.length;
    // First bound with v <= bound: Prometheus buckets are upper-inclusive.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v <= b[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]!++;
    this.sum += v;
    this.count++;
  }
}

/** A histogram family with one set of bucket bounds shared by all its series. */
export class HistogramFamily extends MetricFamily<Histogram> {
  readonly type = 'histogram';
  readonly bounds: Float64Array;

  constructor(name: string, help: string, labelNames: readonly string[], merge: MergeMode, bounds: readonly number[]) {
    super(name, help, labelNames, merge);
    if (bounds.length === 0) throw new MetricsError(`histogram ${name}: needs at least one bucket bound`);
    for (let i = 0; i < bounds.length; i++) {
      const b = bounds[i]!;
      if (!Number.isFinite(b)) throw new MetricsError(`histogram ${name}: bucket bounds must be finite (+Inf is implied)`);
      if (i > 0 && b <= bounds[i - 1]!) throw new MetricsError(`histogram ${name}: bucket bounds must be strictly ascending`);
    }
    this.bounds = Float64Array.from(bounds);
  }

  protected createChild(): Histogram {
    return new Histogram(this.bounds);
  }
}
