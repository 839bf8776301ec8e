/**
 * Envoy's stats in the Prometheus text format, named as Envoy's /stats/prometheus names them: each
 * dotted name goes through Envoy's default tag extraction (envoy-tag-extraction.ts), so
 * `cluster.backend.upstream_rq_200` is `envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="backend"}`.
 * Families are sorted by name; a series without tags is written with `{}`, as Envoy writes it.
 */
import type { EnvoyStat } from './envoy-stat.js';
import { extractTags, prometheusLabel, prometheusName } from './envoy-tag-extraction.js';
import { escapeLabelValue, formatSampleValue } from './prometheus-text.js';

interface Family {
  type: EnvoyStat['type'];
  lines: string[];
}

/** `# TYPE` lines and samples, one family after another. */
export function renderEnvoyPrometheusText(stats: readonly EnvoyStat[]): string {
  const families = new Map<string, Family>();
  for (const stat of [...stats].sort(byName)) {
    const extracted = extractTags(stat.name);
    const name = prometheusName(extracted.name);
    let family = families.get(name);
    if (family === undefined) {
      family = { type: stat.type, lines: [] };
      families.set(name, family);
    }
    const labels = extracted.tags.map(([tag, value]) => `${prometheusLabel(tag)}="${escapeLabelValue(value)}"`).join(',');
    family.lines.push(`${name}{${labels}} ${formatSampleValue(stat.value)}\n`);
  }
  const out: string[] = [];
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)!;
    out.push(`# TYPE ${name} ${family.type}\n`, ...family.lines);
  }
  return out.join('');
}

function byName(a: EnvoyStat, b: EnvoyStat): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
