/**
 * The body of /stats and /stats/prometheus: Bulwark's metric families merged over the workers, and
 * Envoy's own stats by their dotted names (server-wide ones from the primary's state, per cluster,
 * connection manager and listener ones derived from the merged families), both narrowed by `?filter`
 * and `?usedonly`.
 */
import { renderEnvoyPrometheusText } from '../../telemetry/envoy-prometheus-text.js';
import type { EnvoyStat } from '../../telemetry/envoy-stat.js';
import type { MetricsSnapshot } from '../../telemetry/metrics-snapshot.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheusText } from '../../telemetry/prometheus-text.js';
import type { AdminSource } from './admin-server.js';
import { envoyServerStats } from './envoy-server-stats.js';
import { envoyTrafficStats } from './envoy-traffic-stats.js';
import type { ServerState } from './server-state.js';
import { parseStatsQuery, selectEnvoyStats, selectStats, StatsQueryError, type StatsSelection } from './stats-selection.js';
import { renderStatsJson, renderStatsText } from './stats-text.js';

/** A response to send. */
export interface StatsPage {
  status: number;
  contentType: string;
  body: string;
}

/** What the admin server knows beside its source. */
export interface AdminServerView {
  /** The state /ready reports. */
  state: ServerState;
  startedAtMs: number;
}

const TEXT = 'text/plain; charset=UTF-8';

/** The stats page for `query` in `format` (text, json or prometheus). */
export async function statsPage(source: AdminSource, view: AdminServerView, query: URLSearchParams, format: string): Promise<StatsPage> {
  let selection: StatsSelection;
  try {
    selection = parseStatsQuery(query);
  } catch (err) {
    if (!(err instanceof StatsQueryError)) throw err;
    return { status: 400, contentType: TEXT, body: err.message };
  }
  if (format !== 'text' && format !== 'json' && format !== 'prometheus') {
    return { status: 400, contentType: TEXT, body: `usage: /stats?format=(text|json|prometheus)\n` };
  }
  // With workers both come from one round of worker reports (the admin server shares a round under way).
  const [merged, memory] = await Promise.all([source.metrics(), source.memory()]);
  const envoy = selectEnvoyStats(envoyStats(source, view, merged, memory, selection), selection);
  const snapshot = selectStats(merged, selection);
  if (format === 'prometheus') return { status: 200, contentType: PROMETHEUS_CONTENT_TYPE, body: renderPrometheusText(snapshot) + renderEnvoyPrometheusText(envoy) };
  if (format === 'json') return { status: 200, contentType: 'application/json', body: JSON.stringify(renderStatsJson(snapshot, envoy)) };
  return { status: 200, contentType: TEXT, body: renderStatsText(snapshot, envoy) };
}

function envoyStats(source: AdminSource, view: AdminServerView, merged: MetricsSnapshot, memory: Awaited<ReturnType<AdminSource['memory']>>, selection: StatsSelection): EnvoyStat[] {
  const lifecycle = source.lifecycle();
  const resources = source.resources();
  const wanted = (name: string): boolean => selection.filter === undefined || selection.filter.test(name);
  const server = envoyServerStats(
    {
      ...lifecycle,
      state: view.state,
      uptimeMs: Date.now() - view.startedAtMs,
      concurrency: source.commandLineOptions.concurrency,
      memory,
      resources,
      connectionsOpen: sumOf(merged, 'bulwark_worker_active_connections'),
    },
    wanted,
  );
  return [...server, ...envoyTrafficStats(merged, resources)];
}

/** A family's series added up (0 when it is not there). */
function sumOf(snapshot: MetricsSnapshot, family: string): number {
  const f = snapshot.families.find((x) => x.name === family);
  if (f === undefined || f.type === 'histogram') return 0;
  return f.series.reduce((sum, s) => sum + s.value, 0);
}
