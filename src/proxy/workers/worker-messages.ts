import type { ResourceSnapshot } from '../../model/bootstrap.js';
import type { MetricsSnapshot } from '../../telemetry/metrics-snapshot.js';
import type { ClusterStatus } from '../admin/cluster-status.js';

/** Settings a worker needs besides the resources. */
export interface WorkerSettings {
  workerIndex: number;
  regexEngine: string;
  allowMemoryKeys: boolean;
  nodeId: string;
  nodeCluster: string;
}

/** Primary → worker. A socket or server handle travels with 'conn' and 'listen'. */
export type ToWorker =
  | { type: 'config'; snapshot: ResourceSnapshot }
  | { type: 'listen'; listener: string }
  | { type: 'conn'; listener: string }
  | { type: 'stats'; id: number }
  | { type: 'drain'; ms: number }
  | { type: 'reopen-logs' };

/** Worker → primary. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'applied'; version: string }
  | { type: 'rejected'; version: string; error: string }
  | { type: 'stats'; id: number; snapshot: MetricsSnapshot; clusters: ClusterStatus[]; outstanding: number; liveConnections: number }
  | { type: 'load'; outstanding: number; closedConnections: number }
  | { type: 'drained' }
  /** Handshakes stopped signing through keyd: this process's PKCS#11 session is dead for good. */
  | { type: 'custody-lost' };
