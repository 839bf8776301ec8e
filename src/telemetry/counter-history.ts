/**
 * Counters that outlive the workers that counted them. The primary's /stats/prometheus adds up the
 * live workers' snapshots; without this, a worker that crashed or was replaced took its share of
 * every counter and histogram with it, and the proxy's totals went backwards (Prometheus reads that
 * as a counter reset and over-counts the rate). What an exited worker had counted at its last report
 * is kept, and a total is never served lower than before: counts a worker made after its last
 * report are lost, so the served value holds until the live workers pass it.
 *
 * Series of something the config removed (a cluster) are dropped from all of it, as Envoy drops a
 * removed cluster's stats: retired counts, values served before, and the series of a worker report
 * made before that worker applied the change. A cluster added again starts from zero.
 */
import { combineSnapshots, type FamilySnapshot, type HistogramSeries, type MetricsSnapshot, type ScalarSeries } from './metrics-snapshot.js';

/** Series are kept while their value for `label` is one of `live`. */
interface SeriesScope {
  label: string;
  live: ReadonlySet<string>;
}

export class CounterHistory {
  private retired: MetricsSnapshot = { families: [] };
  /** The last value served per family, then per counter or histogram series (keyed by its labels). */
  private readonly served = new Map<string, { type: FamilySnapshot['type']; labelNames: string[]; byLabels: Map<string, number | HistogramSeries> }>();
  private scope: SeriesScope | undefined;

  /** From now on, keeps only series whose value for `label` is in `live` (the config's clusters). */
  keepOnly(label: string, live: ReadonlySet<string>): void {
    this.scope = { label, live };
    this.retired = this.inScope(this.retired);
    for (const family of this.served.values()) {
      const at = family.labelNames.indexOf(label);
      if (at < 0) continue;
      for (const key of family.byLabels.keys()) {
        if (!live.has((JSON.parse(key) as string[])[at]!)) family.byLabels.delete(key);
      }
    }
  }

  /** Keeps the counters and histograms of a worker that exited (gauges describe the present: they go with it). */
  retire(last: MetricsSnapshot | undefined): void {
    if (last === undefined) return;
    const counted = last.families.filter((f) => f.type !== 'gauge');
    this.retired = combineSnapshots([this.retired, this.inScope({ families: counted })]);
  }

  /**
   * /reset_counters: exited workers' counters and the counter values served before are forgotten, so
   * the totals start again from what the (reset) live workers count. Histograms are kept: Envoy
   * resets counters only.
   */
  resetCounters(): void {
    this.retired = { families: this.retired.families.filter((f) => f.type !== 'counter') };
    for (const [name, family] of this.served) if (family.type === 'counter') this.served.delete(name);
  }

  /** The retired counts plus the live workers', with no counter or histogram lower than served before. */
  combine(live: readonly MetricsSnapshot[]): MetricsSnapshot {
    const merged = this.inScope(combineSnapshots([this.retired, ...live]));
    for (const family of merged.families) if (family.type !== 'gauge') this.holdUp(family);
    return merged;
  }

  /** `snapshot` without the series the scope excludes. */
  private inScope(snapshot: MetricsSnapshot): MetricsSnapshot {
    const scope = this.scope;
    if (scope === undefined) return snapshot;
    const families = snapshot.families.map((family): FamilySnapshot => {
      const at = family.labelNames.indexOf(scope.label);
      if (at < 0) return family;
      if (family.type === 'histogram') return { ...family, series: family.series.filter((s) => scope.live.has(s.labels[at]!)) };
      return { ...family, series: family.series.filter((s) => scope.live.has(s.labels[at]!)) };
    });
    return { families };
  }

  private holdUp(family: FamilySnapshot): void {
    let served = this.served.get(family.name);
    if (served === undefined) {
      served = { type: family.type, labelNames: family.labelNames, byLabels: new Map() };
      this.served.set(family.name, served);
    }
    const byLabels = served.byLabels;
    for (const series of family.series) {
      const key = JSON.stringify(series.labels);
      if (family.type === 'histogram') {
        const h = series as HistogramSeries;
        const before = byLabels.get(key) as HistogramSeries | undefined;
        if (before !== undefined && before.count > h.count) {
          h.buckets = [...before.buckets];
          h.sum = before.sum;
          h.count = before.count;
        } else byLabels.set(key, { labels: h.labels, buckets: [...h.buckets], sum: h.sum, count: h.count });
      } else {
        const s = series as ScalarSeries;
        const before = byLabels.get(key) as number | undefined;
        if (before !== undefined && before > s.value) s.value = before;
        else byLabels.set(key, s.value);
      }
    }
  }
}
