/**
 * The stats endpoints' query: `filter` (an RE2 pattern a metric name must contain a match of, as
 * Envoy's admin takes it; RE2 runs in linear time, so no pattern can hang the primary) and
 * `usedonly` (series that were ever written). Unknown parameters are ignored, as Envoy ignores them.
 */
import { isUsed, type EnvoyStat } from '../../telemetry/envoy-stat.js';
import type { FamilySnapshot, HistogramSeries, MetricsSnapshot, ScalarSeries } from '../../telemetry/metrics-snapshot.js';
import { re2 } from '../routing/re2-module.js';

/** A `filter` RE2 does not compile: Envoy answers 400 "Invalid re2 regex". */
export class StatsQueryError extends Error {
  override name = 'StatsQueryError';
}

export interface StatsSelection {
  filter: { test(name: string): boolean } | undefined;
  usedOnly: boolean;
}

/** Reads `filter` and `usedonly` from a stats endpoint's query. */
export function parseStatsQuery(query: URLSearchParams): StatsSelection {
  const pattern = query.get('filter');
  let filter: StatsSelection['filter'];
  if (pattern !== null && pattern !== '') {
    try {
      filter = new (re2())(pattern);
    } catch {
      throw new StatsQueryError('Invalid re2 regex');
    }
  }
  return { filter, usedOnly: query.has('usedonly') };
}

/**
 * The families and series a selection keeps. "Used" is read from the values: a counter or gauge that is
 * not zero, a histogram with a sample (a gauge that went back to zero reads as unused here).
 */
export function selectStats(snapshot: MetricsSnapshot, selection: StatsSelection): MetricsSnapshot {
  const families: FamilySnapshot[] = [];
  for (const family of snapshot.families) {
    if (selection.filter !== undefined && !selection.filter.test(family.name)) continue;
    if (!selection.usedOnly) {
      families.push(family);
      continue;
    }
    if (family.type === 'histogram') {
      const series = family.series.filter((s: HistogramSeries) => s.count > 0);
      if (series.length > 0) families.push({ ...family, series });
    } else {
      const series = family.series.filter((s: ScalarSeries) => s.value !== 0);
      if (series.length > 0) families.push({ ...family, series });
    }
  }
  return { families };
}

/** The Envoy stats a selection keeps: `filter` is matched against each dotted name, as Envoy matches it. */
export function selectEnvoyStats(stats: readonly EnvoyStat[], selection: StatsSelection): EnvoyStat[] {
  return stats.filter((s) => (selection.filter === undefined || selection.filter.test(s.name)) && (!selection.usedOnly || isUsed(s)));
}
