/**
 * Envoy's server-wide stats (server.*, listener_manager.*, cluster_manager.*), from what the primary
 * knows: its state as /ready reports it, its workers, the config updates it applied or refused, the
 * running config and the memory of every process. pilot-agent's readiness probe reads
 * `server.state` and `listener_manager.workers_started`, its config status the lds/cds update counters.
 */
import type { ResourceSnapshot } from '../../model/bootstrap.js';
import type { EnvoyStat } from '../../telemetry/envoy-stat.js';
import { certificateDetails } from './certificate-details.js';
import type { MemoryFigures } from './memory-usage.js';
import type { ServerState } from './server-state.js';

/** Envoy's admin.v3.ServerInfo.State numbers, which server.state carries. */
const STATE_NUMBER: Readonly<Record<ServerState, number>> = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2, INITIALIZING: 3 };

/** Config updates the proxy applied and refused: a static file's load and reloads stand for LDS and CDS updates. */
export interface ConfigUpdateCounts {
  accepted: number;
  rejected: number;
}

/** What the proxy process (the primary) tells of its own life. */
export interface ServerLifecycle {
  /** Every worker has started serving (Envoy's workers_started: set once, it stays). */
  workersStarted: boolean;
  configUpdates: ConfigUpdateCounts;
}

/** Everything the server-wide stats are made of. */
export interface ServerFacts extends ServerLifecycle {
  state: ServerState;
  uptimeMs: number;
  concurrency: number;
  memory: MemoryFigures;
  resources: ResourceSnapshot;
  /** Downstream connections open now, over every worker. */
  connectionsOpen: number;
}

/**
 * The server-wide stats. `wanted` says which names the request keeps: the certificates are read only
 * when server.days_until_first_cert_expiring is asked for.
 */
export function envoyServerStats(f: ServerFacts, wanted: (name: string) => boolean): EnvoyStat[] {
  const updates = f.configUpdates;
  const stats: EnvoyStat[] = [
    { name: 'server.state', type: 'gauge', value: STATE_NUMBER[f.state], set: true },
    { name: 'server.live', type: 'gauge', value: f.state === 'LIVE' ? 1 : 0, set: true },
    { name: 'server.uptime', type: 'gauge', value: Math.floor(f.uptimeMs / 1000), set: true },
    { name: 'server.concurrency', type: 'gauge', value: f.concurrency, set: true },
    { name: 'server.total_connections', type: 'gauge', value: f.connectionsOpen, set: true },
    { name: 'server.memory_allocated', type: 'gauge', value: f.memory.heapUsed + f.memory.external, set: true },
    { name: 'server.memory_heap_size', type: 'gauge', value: f.memory.heapTotal, set: true },
    // Envoy sets it once the workers run: before, ?usedonly leaves it out (pilot-agent: "not yet updated").
    { name: 'listener_manager.workers_started', type: 'gauge', value: f.workersStarted ? 1 : 0, set: f.workersStarted },
    { name: 'listener_manager.total_listeners_active', type: 'gauge', value: f.resources.listeners.length, set: true },
    { name: 'cluster_manager.active_clusters', type: 'gauge', value: f.resources.clusters.length, set: true },
    { name: 'listener_manager.lds.update_success', type: 'counter', value: updates.accepted },
    { name: 'listener_manager.lds.update_rejected', type: 'counter', value: updates.rejected },
    { name: 'cluster_manager.cds.update_success', type: 'counter', value: updates.accepted },
    { name: 'cluster_manager.cds.update_rejected', type: 'counter', value: updates.rejected },
  ];
  const certDays = 'server.days_until_first_cert_expiring';
  if (wanted(certDays)) {
    const days = daysUntilFirstCertExpiring(f.resources);
    // Envoy sets it only when it manages a certificate.
    stats.push({ name: certDays, type: 'gauge', value: days ?? 0, set: days !== undefined });
  }
  return stats;
}

/** The fewest days any served certificate or trust bundle certificate has left; undefined without any. */
function daysUntilFirstCertExpiring(resources: ResourceSnapshot): number | undefined {
  let least: number | undefined;
  for (const group of certificateDetails(resources).certificates) {
    for (const cert of [...group.cert_chain, ...group.ca_cert]) {
      const days = Number(cert.days_until_expiration);
      if (least === undefined || days < least) least = days;
    }
  }
  return least;
}
