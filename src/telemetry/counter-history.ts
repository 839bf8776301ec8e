/**
 * Counters that outlive the workers that counted them. The primary's /stats/prometheus adds up the
 * live workers' snapshots; without this, a worker that crashed or was replaced took its share of
 * every counter and histogram with it, and the proxy's totals went backwards (Prometheus reads that
 * as a counter reset and over-counts the rate). What an exited worker had counted at its last report
 * is kept, and a total is never served lower than before: counts a worker made after its last
 * report are lost, so the served value holds until the live workers pass it.
 */
import { combineSnapshots, type FamilySnapshot, type HistogramSeries, type MetricsSnapshot, type ScalarSeries } from './metrics-snapshot.js';

export class CounterHistory {
  private retired: MetricsSnapshot = { families: [] };
  /** The last value served per counter or histogram series, keyed by family and labels. */
  private readonly served = new Map<string, number | HistogramSeries>();

  /** Keeps the counters and histograms of a worker that exited (gauges describe the present: they go with it). */
  retire(last: MetricsSnapshot | undefined): void {
    if (last === undefined) return;
    const counted = last.families.filter((f) => f.type !== 'gauge');
    this.retired = combineSnapshots([this.retired, { families: counted }]);
  }

  /** The retired counts plus the live workers', with no counter or histogram lower than served before. */
  combine(live: readonly MetricsSnapshot[]): MetricsSnapshot {
    const merged = combineSnapshots([this.retired, ...live]);
    for (const family of merged.families) if (family.type !== 'gauge') this.holdUp(family);
    return merged;
  }

  private holdUp(family: FamilySnapshot): void {
    for (const series of family.series) {
      const key = family.name + '\u0000' + series.labels.join('\u0000');
      if (family.type === 'histogram') {
        const h = series as HistogramSeries;
        const before = this.served.get(key) as HistogramSeries | undefined;
        if (before !== undefined && before.count > h.count) {
          h.buckets = [...before.buckets];
          h.sum = before.sum;
          h.count = before.count;
        } else this.served.set(key, { labels: h.labels, buckets: [...h.buckets], sum: h.sum, count: h.count });
      } else {
        const s = series as ScalarSeries;
        const before = this.served.get(key) as number | undefined;
        if (before !== undefined && before > s.value) s.value = before;
        else this.served.set(key, s.value);
      }
    }
  }
}
