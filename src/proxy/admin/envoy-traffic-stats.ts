/**
 * Envoy's per-cluster, per-connection-manager and per-listener stats, derived from Bulwark's merged
 * families (the worker processes already added up): cluster.<name>.*, http.<stat_prefix>.* and
 * listener.<address>.*, for every cluster, connection manager and listener of the running config.
 */
import type { ResourceSnapshot } from '../../model/bootstrap.js';
import type { HttpConnectionManager, Listener } from '../../model/listener.js';
import { statNameSegment, type EnvoyStat } from '../../telemetry/envoy-stat.js';
import type { FamilySnapshot, MetricsSnapshot, ScalarSeries } from '../../telemetry/metrics-snapshot.js';

interface LabelledValue {
  labels: Record<string, string>;
  value: number;
}

/** The merged counter and gauge families, by name. */
class MergedFamilies {
  private readonly families: ReadonlyMap<string, FamilySnapshot>;

  constructor(merged: MetricsSnapshot) {
    this.families = new Map(merged.families.map((f) => [f.name, f]));
  }

  /** A family's series with their labels by name (none for a family that is not there). */
  series(family: string): LabelledValue[] {
    const f = this.families.get(family);
    if (f === undefined || f.type === 'histogram') return [];
    return (f.series as ScalarSeries[]).map((s) => ({ labels: Object.fromEntries(f.labelNames.map((n, i) => [n, s.labels[i]!])), value: s.value }));
  }

  /** A family's values by one label's value, the other labels added up; only the series whose labels have the values in `where`. */
  sumBy(family: string, label: string, where: Record<string, string> = {}): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.series(family)) {
      if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
      const key = s.labels[label]!;
      out.set(key, (out.get(key) ?? 0) + s.value);
    }
    return out;
  }
}

/** The derived stats of `resources`' clusters, connection managers and listeners. */
export function envoyTrafficStats(merged: MetricsSnapshot, resources: ResourceSnapshot): EnvoyStat[] {
  const families = new MergedFamilies(merged);
  return [...clusterStats(families, resources), ...connectionManagerStats(families, resources), ...faultFilterStats(families, resources), ...listenerStats(families, resources)];
}

function clusterStats(families: MergedFamilies, resources: ResourceSnapshot): EnvoyStat[] {
  const by = families.sumBy.bind(families);
  const c = 'cluster';
  const counters: Array<[string, Map<string, number>]> = [
    ['upstream_cx_total', by('bulwark_upstream_connections_total', c)],
    ['upstream_cx_connect_fail', by('bulwark_upstream_connect_failures_total', c)],
    ['upstream_cx_overflow', by('bulwark_upstream_overflows_total', c, { resource: 'connections' })],
    // Envoy counts a request refused by max_requests as a pending overflow too.
    ['upstream_rq_pending_overflow', addUp(by('bulwark_upstream_overflows_total', c, { resource: 'pending_requests' }), by('bulwark_upstream_overflows_total', c, { resource: 'requests' }))],
    ['upstream_rq_total', by('bulwark_upstream_requests_total', c)],
    ['upstream_rq_retry', by('bulwark_upstream_retries_total', c)],
    ['upstream_rq_timeout', by('bulwark_upstream_timeouts_total', c, { timeout: 'route' })],
    ['upstream_rq_per_try_timeout', by('bulwark_upstream_timeouts_total', c, { timeout: 'per_try' })],
  ];
  const gauges: Array<[string, Map<string, number>, boolean]> = [
    ['upstream_cx_active', by('bulwark_upstream_connections_active', c), false],
    ['upstream_rq_active', by('bulwark_upstream_requests_active', c), false],
    ['upstream_rq_pending_active', by('bulwark_upstream_pending_requests', c), false],
    // Envoy sets membership whenever the host set changes: listed by ?usedonly at 0 too.
    ['membership_total', by('bulwark_cluster_hosts', c), true],
    ['membership_healthy', by('bulwark_cluster_healthy_hosts', c), true],
  ];
  const ejected = by('bulwark_outlier_ejected_hosts', c);
  const responses = families.series('bulwark_upstream_responses_total');
  const out: EnvoyStat[] = [];
  for (const cluster of resources.clusters) {
    const name = cluster.name;
    const prefix = `cluster.${statNameSegment(name)}.`;
    for (const [stat, values] of counters) out.push({ name: prefix + stat, type: 'counter', value: values.get(name) ?? 0 });
    for (const [stat, values, set] of gauges) out.push({ name: prefix + stat, type: 'gauge', value: values.get(name) ?? 0, set });
    if (cluster.outlierDetection !== undefined) out.push({ name: `${prefix}outlier_detection.ejections_active`, type: 'gauge', value: ejected.get(name) ?? 0 });
    out.push(...responseCodeStats(prefix, responses.filter((s) => s.labels.cluster === name)));
  }
  return out;
}

/** Envoy's code stats: upstream_rq_<code> and upstream_rq_<N>xx for the codes seen, and upstream_rq_completed. */
function responseCodeStats(prefix: string, series: readonly LabelledValue[]): EnvoyStat[] {
  const out: EnvoyStat[] = [];
  const classes = new Map<string, number>();
  let completed = 0;
  for (const s of series) {
    const code = s.labels.response_code!;
    out.push({ name: `${prefix}upstream_rq_${code}`, type: 'counter', value: s.value });
    const cls = `${code[0]}xx`;
    classes.set(cls, (classes.get(cls) ?? 0) + s.value);
    completed += s.value;
  }
  for (const [cls, value] of classes) out.push({ name: `${prefix}upstream_rq_${cls}`, type: 'counter', value });
  out.push({ name: `${prefix}upstream_rq_completed`, type: 'counter', value: completed });
  return out;
}

function connectionManagerStats(families: MergedFamilies, resources: ResourceSnapshot): EnvoyStat[] {
  const by = families.sumBy.bind(families);
  const p = 'stat_prefix';
  const requests = by('bulwark_http_requests_total', p);
  const active = by('bulwark_http_requests_active', p);
  const connections = by('bulwark_http_connections_total', p);
  const connectionsActive = by('bulwark_http_connections_active', p);
  const classes = ['1xx', '2xx', '3xx', '4xx', '5xx'].map((cls) => [cls, by('bulwark_http_responses_total', p, { response_code_class: cls })] as const);
  const out: EnvoyStat[] = [];
  for (const prefix of statPrefixes(resources.listeners)) {
    const at = `http.${statNameSegment(prefix)}.`;
    out.push({ name: `${at}downstream_rq_total`, type: 'counter', value: requests.get(prefix) ?? 0 });
    out.push({ name: `${at}downstream_rq_active`, type: 'gauge', value: active.get(prefix) ?? 0 });
    let completed = 0;
    for (const [cls, values] of classes) {
      const value = values.get(prefix) ?? 0;
      completed += value;
      out.push({ name: `${at}downstream_rq_${cls}`, type: 'counter', value });
    }
    out.push({ name: `${at}downstream_rq_completed`, type: 'counter', value: completed });
    out.push({ name: `${at}downstream_cx_total`, type: 'counter', value: connections.get(prefix) ?? 0 });
    out.push({ name: `${at}downstream_cx_active`, type: 'gauge', value: connectionsActive.get(prefix) ?? 0 });
  }
  return out;
}

/** Envoy's http.<stat_prefix>.fault.* of the connection managers that run the fault filter. */
function faultFilterStats(families: MergedFamilies, resources: ResourceSnapshot): EnvoyStat[] {
  const p = 'stat_prefix';
  const delays = families.sumBy('bulwark_http_fault_delays_injected_total', p);
  const aborts = families.sumBy('bulwark_http_fault_aborts_injected_total', p);
  const overflow = families.sumBy('bulwark_http_faults_overflow_total', p);
  const active = families.sumBy('bulwark_http_faults_active', p);
  const out: EnvoyStat[] = [];
  for (const prefix of statPrefixes(resources.listeners, (hcm) => hcm.httpFilters.some((f) => f.fault !== undefined))) {
    const at = `http.${statNameSegment(prefix)}.fault.`;
    out.push({ name: `${at}delays_injected`, type: 'counter', value: delays.get(prefix) ?? 0 });
    out.push({ name: `${at}aborts_injected`, type: 'counter', value: aborts.get(prefix) ?? 0 });
    out.push({ name: `${at}faults_overflow`, type: 'counter', value: overflow.get(prefix) ?? 0 });
    out.push({ name: `${at}active_faults`, type: 'gauge', value: active.get(prefix) ?? 0 });
  }
  return out;
}

function listenerStats(families: MergedFamilies, resources: ResourceSnapshot): EnvoyStat[] {
  const total = families.sumBy('bulwark_listener_connections_total', 'listener');
  const active = families.sumBy('bulwark_listener_connections_active', 'listener');
  // Listeners that share a stat name (one address) share its stats, as in Envoy.
  const sums = new Map<string, { total: number; active: number }>();
  for (const l of resources.listeners) {
    const name = `listener.${listenerStatName(l)}.`;
    const sum = sums.get(name) ?? { total: 0, active: 0 };
    sum.total += total.get(l.name) ?? 0;
    sum.active += active.get(l.name) ?? 0;
    sums.set(name, sum);
  }
  const out: EnvoyStat[] = [];
  for (const [name, sum] of sums) {
    out.push({ name: `${name}downstream_cx_total`, type: 'counter', value: sum.total });
    out.push({ name: `${name}downstream_cx_active`, type: 'gauge', value: sum.active });
  }
  return out;
}

/** Envoy names a listener's stats by its configured address, `127.0.0.1:8080` (`[::1]:8080`) with `:` as `_`. */
function listenerStatName(l: Listener): string {
  const a = l.address.socketAddress;
  const host = a.address.includes(':') ? `[${a.address}]` : a.address;
  return statNameSegment(`${host}:${a.portValue}`);
}

function statPrefixes(listeners: readonly Listener[], which: (hcm: HttpConnectionManager) => boolean = () => true): Set<string> {
  const out = new Set<string>();
  for (const l of listeners) {
    for (const chain of l.filterChains) {
      for (const f of chain.filters) if (f.name === 'envoy.filters.network.http_connection_manager' && which(f.typedConfig)) out.add(f.typedConfig.statPrefix);
    }
  }
  return out;
}

function addUp(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}
