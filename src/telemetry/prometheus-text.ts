/**
 * The Prometheus text exposition format, version 0.0.4:
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 * Rendering runs per scrape, not per request, so clarity wins over speed here.
 */
import { combineSnapshots, type FamilySnapshot, type HistogramSeries, type MetricsSnapshot, type ScalarSeries } from './metrics-snapshot.js';

/** The Content-Type a /stats/prometheus response carries. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const LABEL_NEEDS_ESCAPE = /[\\"\n]/;
const HELP_NEEDS_ESCAPE = /[\\\n]/;

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  if (!LABEL_NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}

/** Escapes HELP text: backslash and line feed (quotes stay as they are). */
export function escapeHelp(text: string): string {
  if (!HELP_NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** A sample value as Prometheus reads it: integers plain, floats in JS form, and +Inf/-Inf/NaN. */
export function formatSampleValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v !== v) return 'NaN';
  return String(v);
}

/** Renders a snapshot (one process's, or combined) as exposition text, one family after another. */
export function renderPrometheusText(snapshot: MetricsSnapshot): string {
  const out: string[] = [];
  for (const family of snapshot.families) renderFamily(family, out);
  return out.join('');
}

/** Adds the workers' snapshots up and renders them as one page: what the primary serves. */
export function mergeSnapshots(snapshots: readonly MetricsSnapshot[]): string {
  return renderPrometheusText(combineSnapshots(snapshots));
}

function renderFamily(family: FamilySnapshot, out: string[]): void {
  out.push(`# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`);
  if (family.type !== 'histogram') {
    for (const s of family.series as ScalarSeries[]) {
      out.push(family.name + labelSet(family.labelNames, s.labels, '') + ' ' + formatSampleValue(s.value) + '\n');
    }
    return;
  }
  const les = family.bounds.map((b) => `le="${formatSampleValue(b)}"`);
  les.push('le="+Inf"');
  for (const s of family.series as HistogramSeries[]) {
    let cumulative = 0;
    for (let i = 0; i < les.length; i++) {
      cumulative += s.buckets[i]!;
      out.push(family.name + '_bucket' + labelSet(family.labelNames, s.labels, les[i]!) + ' ' + formatSampleValue(cumulative) + '\n');
    }
    const labels = labelSet(family.labelNames, s.labels, '');
    out.push(family.name + '_sum' + labels + ' ' + formatSampleValue(s.sum) + '\n');
    out.push(family.name + '_count' + labels + ' ' + formatSampleValue(s.count) + '\n');
  }
}

/** `{name="value",...}` with `extra` (an `le` pair) last; empty without labels. */
export function labelSet(names: readonly string[], values: readonly string[], extra: string): string {
  if (names.length === 0 && extra === '') return '';
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i]!)}"`);
  if (extra !== '') parts.push(extra);
  return '{' + parts.join(',') + '}';
}
