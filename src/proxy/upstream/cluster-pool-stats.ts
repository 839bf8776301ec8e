import type { PoolStats } from '../http/h1-connection-pool.js';
import { Resource, type ResourceCounts } from './resource-counts.js';

/**
 * A cluster's pool counters. Open connections and pending requests live in the cluster's resource
 * counts, so the maxConnections and maxPendingRequests breakers see every worker's; the rest are this
 * process's own, for its metrics.
 */
export class ClusterPoolStats implements PoolStats {
  connectionsTotal = 0;
  connectFailures = 0;
  pendingOverflow = 0;
  connectionOverflow = 0;

  constructor(private readonly counts: ResourceCounts) {}

  get connectionsActive(): number {
    return this.counts.local(Resource.connections);
  }

  set connectionsActive(value: number) {
    this.counts.setLocal(Resource.connections, value);
  }

  get pending(): number {
    return this.counts.local(Resource.pending);
  }

  set pending(value: number) {
    this.counts.setLocal(Resource.pending, value);
  }

  connectionsAcrossWorkers(): number {
    return this.counts.total(Resource.connections);
  }

  pendingAcrossWorkers(): number {
    return this.counts.total(Resource.pending);
  }
}
