/**
 * Envoy's /stats in its text form (`name: value` lines, sorted) and with `?format=json`
 * (`{"stats": [{"name", "value"}]}`). Bulwark's metrics carry labels where Envoy folds tags into
 * dotted names, so a series is named as Prometheus names it: `family{label="value",...}`.
 * Envoy's own stats (envoy-stat.ts) are listed by their dotted names, sorted with the rest, as Envoy
 * sorts its stats. Histograms are left out (Envoy prints quantiles of its own histograms);
 * /stats/prometheus has them.
 */
import type { EnvoyStat } from '../../telemetry/envoy-stat.js';
import type { MetricsSnapshot, ScalarSeries } from '../../telemetry/metrics-snapshot.js';
import { labelSet } from '../../telemetry/prometheus-text.js';

interface NamedValue {
  name: string;
  value: number;
}

function counterAndGaugeValues(snapshot: MetricsSnapshot, envoy: readonly EnvoyStat[]): NamedValue[] {
  const out: NamedValue[] = envoy.map((s) => ({ name: s.name, value: s.value }));
  for (const family of snapshot.families) {
    if (family.type === 'histogram') continue;
    for (const s of family.series as ScalarSeries[]) out.push({ name: family.name + labelSet(family.labelNames, s.labels, ''), value: s.value });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `name: value` lines. */
export function renderStatsText(snapshot: MetricsSnapshot, envoy: readonly EnvoyStat[]): string {
  return counterAndGaugeValues(snapshot, envoy)
    .map((s) => `${s.name}: ${s.value}\n`)
    .join('');
}

/** Envoy's /stats?format=json body. */
export function renderStatsJson(snapshot: MetricsSnapshot, envoy: readonly EnvoyStat[]): unknown {
  return { stats: counterAndGaugeValues(snapshot, envoy) };
}
