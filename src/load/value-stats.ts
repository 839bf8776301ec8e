/**
 * Fortio's histogram layout (its stats package), so the Data buckets of our JSON cut values where
 * Fortio's do: edges in units of a divider (-r for durations, 100 bytes for body sizes, 5 for header
 * sizes) after subtracting an offset (-offset), one bucket at or below 0 and one past the last edge.
 */
const EDGES: readonly number[] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100,
  120, 140, 160, 180, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000,
  2000, 3000, 4000, 5000, 7500, 10000, 20000, 30000, 40000, 50000, 75000, 100000,
];
const LAST_EDGE = EDGES[EDGES.length - 1]!;

/** Fortio's stats.Bucket: cumulative Percent. */
export interface HistogramBucket {
  Start: number;
  End: number;
  Percent: number;
  Count: number;
}

/** Bucket index of a value already scaled: the first edge at or above it (buckets are ]prev, edge]). */
function bucketOf(scaled: number): number {
  if (scaled <= 0) return 0;
  if (scaled > LAST_EDGE) return EDGES.length;
  // Fortio counts a value within 1e-12 above an edge in the bucket ending at that edge.
  const v = scaled - 1e-12;
  let lo = 1;
  let hi = EDGES.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (EDGES[mid]! >= v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface ValueStatsWire {
  offset: number;
  divider: number;
  count: number;
  min: number;
  max: number;
  sum: number;
  sumOfSquares: number;
  counts: number[];
}

/** Count, min, max, sum, spread and Fortio buckets of a series of values (seconds or bytes). */
export class ValueStats {
  count = 0;
  min = 0;
  max = 0;
  sum = 0;
  sumOfSquares = 0;
  private readonly counts = new Array<number>(EDGES.length + 1).fill(0);

  constructor(
    readonly offset: number,
    readonly divider: number,
  ) {}

  record(v: number): void {
    if (this.count === 0 || v < this.min) this.min = v;
    if (this.count === 0 || v > this.max) this.max = v;
    this.count++;
    this.sum += v;
    this.sumOfSquares += v * v;
    this.counts[bucketOf((v - this.offset) / this.divider)]!++;
  }

  /** Values at or below the offset (Fortio's first bucket). */
  get atOrBelowOffset(): number {
    return this.counts[0]!;
  }

  get avg(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Population standard deviation, as Fortio's Counter computes it. */
  get stdDev(): number {
    if (this.count === 0) return 0;
    const avg = this.avg;
    return Math.sqrt(Math.max(this.sumOfSquares / this.count - avg * avg, 0));
  }

  merge(other: ValueStats): void {
    if (other.count === 0) return;
    if (this.count === 0 || other.min < this.min) this.min = other.min;
    if (this.count === 0 || other.max > this.max) this.max = other.max;
    this.count += other.count;
    this.sum += other.sum;
    this.sumOfSquares += other.sumOfSquares;
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
  }

  /** Fortio's HistogramData.Data: the non-empty buckets, the first from Min, the last to Max. */
  data(): HistogramBucket[] {
    const out: HistogramBucket[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const count = this.counts[i]!;
      if (count === 0) continue;
      cumulative += count;
      const start = out.length === 0 ? this.min : this.divider * EDGES[i - 1]! + this.offset;
      const end = i < EDGES.length ? this.divider * EDGES[i]! + this.offset : this.max;
      out.push({ Start: start, End: end, Percent: (100 * cumulative) / this.count, Count: count });
    }
    if (out.length > 0) out[out.length - 1]!.End = this.max;
    return out;
  }

  /**
   * Fortio's CalcPercentile: interpolated within the bucket the percentile falls in, Min at or
   * below one value's share, Max at 100. (Latency percentiles come from the exact histogram instead.)
   */
  percentile(p: number, buckets: HistogramBucket[] = this.data()): number {
    if (p >= 100) return this.max;
    let previous = 100 / this.count;
    if (p <= previous) return this.min;
    for (const b of buckets) {
      if (p <= b.Percent) return b.Start + ((p - previous) / (b.Percent - previous)) * (b.End - b.Start);
      previous = b.Percent;
    }
    return this.max;
  }

  toWire(): ValueStatsWire {
    const { offset, divider, count, min, max, sum, sumOfSquares } = this;
    return { offset, divider, count, min, max, sum, sumOfSquares, counts: [...this.counts] };
  }

  static fromWire(w: ValueStatsWire): ValueStats {
    const s = new ValueStats(w.offset, w.divider);
    Object.assign(s, { count: w.count, min: w.min, max: w.max, sum: w.sum, sumOfSquares: w.sumOfSquares });
    w.counts.forEach((n, i) => (s.counts[i] = n));
    return s;
  }
}
