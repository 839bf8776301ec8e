/**
 * The plain, JSON-serialisable form of a registry's metrics. Workers send it to the primary over
 * IPC; the primary combines the workers' snapshots and renders one Prometheus page.
 */

/** One counter or gauge series: label values in the family's labelNames order. */
export interface ScalarSeries {
  labels: string[];
  value: number;
}

/** One histogram series; `buckets` are per-bucket (not cumulative) counts, the last one for +Inf. */
export interface HistogramSeries {
  labels: string[];
  buckets: number[];
  sum: number;
  count: number;
}

/** A counter or gauge family with its series. */
export interface ScalarFamilySnapshot {
  type: 'counter' | 'gauge';
  name: string;
  help: string;
  labelNames: string[];
  series: ScalarSeries[];
  /** Workers' values are combined by taking the largest, not by adding them up. */
  merge?: 'max';
}

/** A histogram family; `bounds` are the finite upper bounds (`le`), ascending, +Inf implied. */
export interface HistogramFamilySnapshot {
  type: 'histogram';
  name: string;
  help: string;
  labelNames: string[];
  bounds: number[];
  series: HistogramSeries[];
}

/** Any family in a snapshot. */
export type FamilySnapshot = ScalarFamilySnapshot | HistogramFamilySnapshot;

/** Everything one registry (one process) holds. */
export interface MetricsSnapshot {
  families: FamilySnapshot[];
}

/** Two snapshots disagree on a family's type, labels or buckets, so they cannot be added up. */
export class MetricsMergeError extends Error {
  override name = 'MetricsMergeError';
}

/**
 * Adds snapshots up: counters, gauges and histograms with the same name and label values sum (a
 * family marked `merge: 'max'` keeps the largest value).
 * Per-worker metrics already carry a distinct `worker` label, so summing keeps them apart.
 */
export function combineSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const families = new Map<string, { family: FamilySnapshot; series: Map<string, ScalarSeries | HistogramSeries> }>();
  for (const snapshot of snapshots) {
    for (const incoming of snapshot.families) {
      let entry = families.get(incoming.name);
      if (entry === undefined) {
        entry = { family: emptyCopy(incoming), series: new Map() };
        families.set(incoming.name, entry);
      } else {
        assertSameShape(entry.family, incoming);
      }
      for (const series of incoming.series) addSeries(entry.family, entry.series, series);
    }
  }
  return { families: [...families.values()].map((e) => e.family) };
}

function emptyCopy(family: FamilySnapshot): FamilySnapshot {
  const base = { name: family.name, help: family.help, labelNames: [...family.labelNames] };
  if (family.type === 'histogram') return { ...base, type: 'histogram', bounds: [...family.bounds], series: [] };
  return family.merge === 'max' ? { ...base, type: family.type, series: [], merge: 'max' } : { ...base, type: family.type, series: [] };
}

function assertSameShape(have: FamilySnapshot, incoming: FamilySnapshot): void {
  const why =
    have.type !== incoming.type
      ? `type ${incoming.type} vs ${have.type}`
      : !sameList(have.labelNames, incoming.labelNames)
        ? `labels [${incoming.labelNames.join(',')}] vs [${have.labelNames.join(',')}]`
        : have.type === 'histogram' && incoming.type === 'histogram' && !sameList(have.bounds, incoming.bounds)
          ? `buckets [${incoming.bounds.join(',')}] vs [${have.bounds.join(',')}]`
          : undefined;
  if (why !== undefined) throw new MetricsMergeError(`metric ${incoming.name}: snapshots disagree on ${why}`);
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function addSeries(
  family: FamilySnapshot,
  byLabels: Map<string, ScalarSeries | HistogramSeries>,
  series: ScalarSeries | HistogramSeries,
): void {
  if (series.labels.length !== family.labelNames.length) {
    throw new MetricsMergeError(`metric ${family.name}: a series has ${series.labels.length} label values for ${family.labelNames.length} labels`);
  }
  const key = JSON.stringify(series.labels);
  const have = byLabels.get(key);
  if (family.type === 'histogram') {
    const h = series as HistogramSeries;
    if (h.buckets.length !== family.bounds.length + 1) {
      throw new MetricsMergeError(`metric ${family.name}: a series has ${h.buckets.length} buckets for ${family.bounds.length} bounds`);
    }
    if (have === undefined) {
      const copy: HistogramSeries = { labels: [...h.labels], buckets: [...h.buckets], sum: h.sum, count: h.count };
      byLabels.set(key, copy);
      family.series.push(copy);
    } else {
      const sum = have as HistogramSeries;
      for (let i = 0; i < h.buckets.length; i++) sum.buckets[i]! += h.buckets[i]!;
      sum.sum += h.sum;
      sum.count += h.count;
    }
    return;
  }
  const s = series as ScalarSeries;
  if (have === undefined) {
    const copy: ScalarSeries = { labels: [...s.labels], value: s.value };
    byLabels.set(key, copy);
    (family.series as ScalarSeries[]).push(copy);
  } else if ((family as ScalarFamilySnapshot).merge === 'max') {
    (have as ScalarSeries).value = Math.max((have as ScalarSeries).value, s.value);
  } else {
    (have as ScalarSeries).value += s.value;
  }
}
