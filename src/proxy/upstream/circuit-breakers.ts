import type { CircuitBreakerThresholds } from '../../model/cluster.js';
import type { BreakerKind } from '../clusters/upstream-cluster.js';
import { Resource, type ResourceCounts } from './resource-counts.js';

/**
 * Envoy's circuit breakers for one cluster: each resource has a ceiling; over it the request is refused
 * at once (503, UO) instead of queueing. Connections and pending requests are enforced by the pools,
 * which share these thresholds and counts; requests and retries are counted here. Counts are the
 * cluster's across every worker (ResourceCounts), as Envoy's threads share them.
 */
export class CircuitBreakers {
  readonly overflows: Record<BreakerKind, number> = { connections: 0, pending: 0, requests: 0, retries: 0 };
  private limits: Record<BreakerKind, number>;

  constructor(
    thresholds: CircuitBreakerThresholds,
    private readonly counts: ResourceCounts,
  ) {
    this.limits = limitsOf(thresholds);
  }

  update(thresholds: CircuitBreakerThresholds): void {
    this.limits = limitsOf(thresholds);
  }

  tryAcquire(kind: BreakerKind): boolean {
    const offset = Resource[kind];
    if (this.counts.total(offset) >= this.limits[kind]) {
      this.overflows[kind]++;
      return false;
    }
    this.counts.setLocal(offset, this.counts.local(offset) + 1);
    return true;
  }

  release(kind: BreakerKind): void {
    const offset = Resource[kind];
    const n = this.counts.local(offset);
    if (n > 0) this.counts.setLocal(offset, n - 1);
  }
}

function limitsOf(t: CircuitBreakerThresholds): Record<BreakerKind, number> {
  return { connections: t.maxConnections, pending: t.maxPendingRequests, requests: t.maxRequests, retries: t.maxRetries };
}
