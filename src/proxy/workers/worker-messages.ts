import type { ResourceSnapshot } from '../../model/bootstrap.js';
import type { UpstreamOutcome } from '../clusters/upstream-cluster.js';
import type { MetricsSnapshot } from '../../telemetry/metrics-snapshot.js';
import type { ClusterStatus } from '../admin/cluster-status.js';
import type { MemoryFigures } from '../admin/memory-usage.js';
import type { HealthSnapshot } from '../clusters/cluster-manager.js';
import type { ResourceTableAttachment } from './shared-resource-table.js';
import type { ListenerDrainState } from '../listeners/listener-drain-state.js';
import type { LoggerName, LogLevel } from '../proxy-log.js';

/** Settings a worker needs besides the resources. */
export interface WorkerSettings {
  workerIndex: number;
  regexEngine: string;
  allowMemoryKeys: boolean;
  nodeId: string;
  nodeCluster: string;
  /** This worker runs the active health checks and reports their results; the others apply them. */
  healthChecks: boolean;
  /** This worker's row of the shared circuit-breaker counts; absent where memory cannot be shared. */
  resourceTable?: ResourceTableAttachment;
}

/** Primary → worker. A socket or server handle travels with 'conn' and 'listen'. */
export type ToWorker =
  /** resourceSlots: each cluster's slot in the shared circuit-breaker counts. */
  | { type: 'config'; snapshot: ResourceSnapshot; resourceSlots: Record<string, number> }
  /** The secret every worker derives its TLS session ticket keys from (base64 of 32 bytes); sent before the first config. */
  | { type: 'ticket-keys'; secret: string }
  | { type: 'listen'; listener: string }
  | { type: 'conn'; listener: string }
  /** `clusters`: include the worker's cluster view (admin /clusters); a metrics scrape leaves it out. */
  | { type: 'stats'; id: number; clusters: boolean }
  | { type: 'drain'; ms: number }
  /** A drain under way stops waiting for in-flight requests: the worker sends its final GOAWAYs and exits. */
  | { type: 'end-drain' }
  | { type: 'reopen-logs' }
  /** What /healthcheck/fail and /drain_listeners asked of the listeners; sent on every change and before a worker's first config. */
  | { type: 'listener-drain'; id: number; state: ListenerDrainState }
  /** Every logger's level (/logging); sent on every change and before a worker's first config. Answered by 'acknowledged'. */
  | { type: 'log-levels'; id: number; levels: Record<LoggerName, LogLevel> }
  /** /reset_counters: every counter from zero. Answered by 'acknowledged'. */
  | { type: 'reset-counters'; id: number }
  /** The primary refused a reload before sending it (an invalid file). */
  | { type: 'reload-rejected' }
  /** This worker takes over the active health checks (the one that ran them is gone). */
  | { type: 'health-role' }
  /** The health-check worker's latest results, for a worker that does not run the checks. */
  | { type: 'health'; snapshot: HealthSnapshot }
  /** Another worker's outlier detection ejected a host (until: epoch ms). */
  | { type: 'ejection'; cluster: string; host: string; until: number; ejections: number }
  /** An outcome another worker saw, for this worker's outlier detection to count. */
  | { type: 'outcome'; cluster: string; host: string; outcome: UpstreamOutcome };

/** Worker → primary. */
export type FromWorker =
  | { type: 'ready' }
  /** The worker's event loop runs (worker-watchdog.ts): sent every HEARTBEAT_MS. */
  | { type: 'alive' }
  /**
   * ports: where the worker's own listeners are bound (the real port of a listener on port 0).
   * heldSlots (here and in 'rejected'): the shared breaker slots the worker counts in after this config.
   */
  | { type: 'applied'; version: string; ports: Record<string, number>; heldSlots: number[] }
  /** custody: key custody refused a key load (after the worker's own retries), not the config itself. */
  | { type: 'rejected'; version: string; error: string; custody: boolean; heldSlots: number[] }
  | { type: 'stats'; id: number; snapshot: MetricsSnapshot; clusters: ClusterStatus[] | undefined; outstanding: number; liveConnections: number; memory: MemoryFigures }
  | { type: 'load'; outstanding: number; closedConnections: number }
  /** The worker's final metrics, so what it counted since the last scrape is kept. */
  | { type: 'drained'; snapshot: MetricsSnapshot }
  /** The worker serves by the 'listener-drain' state of that id (its stopped listeners are closed). */
  | { type: 'listener-drain-applied'; id: number }
  /** The worker carried out the order ('log-levels', 'reset-counters') of that id. */
  | { type: 'acknowledged'; id: number }
  /** The health-check worker's results changed (or a config was applied): all of them, not a delta. */
  | { type: 'health'; snapshot: HealthSnapshot }
  /** This worker's outlier detection ejected a host (until: epoch ms): the others apply it. */
  | { type: 'ejection'; cluster: string; host: string; until: number; ejections: number }
  /** An outcome the other workers' outlier detection should count (a failure, or a success ending a run of them). */
  | { type: 'outcome'; cluster: string; host: string; outcome: UpstreamOutcome }
  /** A handshake failed because key custody did not sign, the first since one signed: is keyd away? */
  | { type: 'custody-failure' }
  /** SESSION_BROKEN_AFTER such failures in a row: this process's PKCS#11 session looks dead for good. */
  | { type: 'custody-broken'; failures: number };
