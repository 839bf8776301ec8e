/**
 * Envoy's admin /clusters: every cluster's hosts with their health flags, weights and counters, as
 * plain text (`cluster::host::stat::value` lines) or as JSON with `?format=json` (Envoy's
 * ClusterStatuses shape, which tools such as `istioctl proxy-config endpoints` read).
 *
 * Statuses are plain data, so worker processes can send theirs to the primary, which merges them:
 * counters and gauges add up across workers, and a host is flagged when any worker flags it (each
 * worker runs its own health checks and outlier detection).
 */
import type { CircuitBreakerThresholds, HealthStatus } from '../../model/cluster.js';
import type { Host } from '../upstream/host.js';

export interface HostStatus {
  address: string;
  port: number;
  hostname: string;
  weight: number;
  priority: number;
  edsHealth: HealthStatus;
  failedActiveHealthCheck: boolean;
  failedOutlierCheck: boolean;
  /** Counters and gauges by Envoy's host stat names. */
  stats: HostStats;
}

/** Envoy's host stat names, in the order /clusters lists them. */
const STAT_NAMES = ['cx_active', 'cx_connect_fail', 'cx_total', 'rq_active', 'rq_error', 'rq_success', 'rq_timeout', 'rq_total'] as const;
const GAUGES: ReadonlySet<HostStatName> = new Set(['cx_active', 'rq_active']);

type HostStatName = (typeof STAT_NAMES)[number];
export type HostStats = Record<HostStatName, number>;

export interface ClusterStatus {
  name: string;
  thresholds: CircuitBreakerThresholds;
  hosts: HostStatus[];
}

/** What a cluster exposes for its status: its name, breaker thresholds and hosts. */
export interface StatusSource {
  readonly name: string;
  readonly model: { circuitBreakers: { thresholds: CircuitBreakerThresholds } };
  readonly state: { hosts: readonly Host[] };
}

/** This process's view of its clusters, at `now` (epoch ms, for outlier ejections). */
export function clusterStatuses(clusters: readonly StatusSource[], now = Date.now()): ClusterStatus[] {
  return clusters.map((c) => ({
    name: c.name,
    thresholds: { ...c.model.circuitBreakers.thresholds },
    hosts: c.state.hosts.map((h) => ({
      address: h.address,
      port: h.port,
      hostname: h.hostname,
      weight: h.weight,
      priority: h.priority,
      edsHealth: h.edsHealth,
      failedActiveHealthCheck: h.failedActiveHealthCheck,
      failedOutlierCheck: h.ejectedUntil > now,
      stats: {
        cx_active: h.activeConnections,
        cx_connect_fail: h.connectFailures,
        cx_total: h.connectionsTotal,
        rq_active: h.activeRequests,
        rq_error: h.requestErrors,
        rq_success: h.requestsSucceeded,
        rq_timeout: h.requestTimeouts,
        rq_total: h.requestsSucceeded + h.requestErrors,
      },
    })),
  }));
}

/** One view from several workers' views: clusters and hosts by name and address, numbers added, flags joined. */
export function mergeClusterStatuses(views: ReadonlyArray<readonly ClusterStatus[]>): ClusterStatus[] {
  const clusters = new Map<string, ClusterStatus>();
  for (const view of views) {
    for (const c of view) {
      const into = clusters.get(c.name);
      if (into === undefined) {
        clusters.set(c.name, { name: c.name, thresholds: { ...c.thresholds }, hosts: c.hosts.map(copyHost) });
        continue;
      }
      for (const h of c.hosts) {
        const same = into.hosts.find((x) => x.address === h.address && x.port === h.port);
        if (same === undefined) {
          into.hosts.push(copyHost(h));
          continue;
        }
        same.failedActiveHealthCheck ||= h.failedActiveHealthCheck;
        same.failedOutlierCheck ||= h.failedOutlierCheck;
        for (const name of STAT_NAMES) same.stats[name] += h.stats[name];
      }
    }
  }
  return [...clusters.values()];
}

/** A host's status with stats of its own, so merging into it leaves the worker's view unchanged. */
function copyHost(h: HostStatus): HostStatus {
  return { ...h, stats: { ...h.stats } };
}

/** Envoy's health_flags text: "healthy", or each reason a host is not, as /failed_active_hc/failed_outlier_check. */
function healthFlags(h: HostStatus): string {
  let flags = '';
  if (h.failedActiveHealthCheck) flags += '/failed_active_hc';
  if (h.failedOutlierCheck) flags += '/failed_outlier_check';
  if (h.edsHealth === 'UNHEALTHY') flags += '/failed_eds_health';
  if (h.edsHealth === 'DRAINING') flags += '/eds_status_draining';
  return flags || 'healthy';
}

/** Envoy's text form of /clusters. */
export function renderClustersText(statuses: readonly ClusterStatus[]): string {
  const lines: string[] = [];
  for (const c of statuses) {
    const n = c.name;
    lines.push(`${n}::observability_name::${n}`);
    const t = c.thresholds;
    for (const priority of ['default_priority', 'high_priority']) {
      lines.push(`${n}::${priority}::max_connections::${t.maxConnections}`);
      lines.push(`${n}::${priority}::max_pending_requests::${t.maxPendingRequests}`);
      lines.push(`${n}::${priority}::max_requests::${t.maxRequests}`);
      lines.push(`${n}::${priority}::max_retries::${t.maxRetries}`);
    }
    lines.push(`${n}::added_via_api::false`);
    for (const h of c.hosts) {
      const p = `${n}::${h.address}:${h.port}`;
      for (const name of STAT_NAMES) lines.push(`${p}::${name}::${h.stats[name]}`);
      lines.push(`${p}::hostname::${h.hostname}`);
      lines.push(`${p}::health_flags::${healthFlags(h)}`);
      lines.push(`${p}::weight::${h.weight}`);
      lines.push(`${p}::priority::${h.priority}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Envoy's ClusterStatuses JSON (proto3 JSON: 64-bit counters as strings, false flags omitted). */
export function renderClustersJson(statuses: readonly ClusterStatus[]): unknown {
  return {
    cluster_statuses: statuses.map((c) => ({
      name: c.name,
      observability_name: c.name,
      circuit_breakers: {
        thresholds: ['DEFAULT', 'HIGH'].map((priority) => ({
          ...(priority === 'HIGH' ? { priority } : {}),
          max_connections: c.thresholds.maxConnections,
          max_pending_requests: c.thresholds.maxPendingRequests,
          max_requests: c.thresholds.maxRequests,
          max_retries: c.thresholds.maxRetries,
        })),
      },
      host_statuses: c.hosts.map((h) => ({
        address: { socket_address: { address: h.address, port_value: h.port } },
        stats: STAT_NAMES.map((name) => ({ ...(GAUGES.has(name) ? { type: 'GAUGE' } : {}), name, value: String(h.stats[name]) })),
        health_status: {
          eds_health_status: h.edsHealth === 'UNKNOWN' ? 'HEALTHY' : h.edsHealth,
          ...(h.failedActiveHealthCheck ? { failed_active_health_check: true } : {}),
          ...(h.failedOutlierCheck ? { failed_outlier_check: true } : {}),
        },
        weight: h.weight,
        ...(h.hostname !== '' ? { hostname: h.hostname } : {}),
        ...(h.priority !== 0 ? { priority: h.priority } : {}),
      })),
    })),
  };
}
