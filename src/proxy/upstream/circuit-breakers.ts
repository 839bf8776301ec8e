import type { CircuitBreakerThresholds } from '../../model/cluster.js';
import type { BreakerKind } from '../clusters/upstream-cluster.js';

/**
 * Envoy's circuit breakers for one cluster: each resource has a ceiling; over it the request is refused
 * at once (503, UO) instead of queueing. Connections and pending requests are enforced by the pools,
 * which share these thresholds; requests and retries are counted here.
 */
export class CircuitBreakers {
  private readonly active: Record<BreakerKind, number> = { connections: 0, pending: 0, requests: 0, retries: 0 };
  readonly overflows: Record<BreakerKind, number> = { connections: 0, pending: 0, requests: 0, retries: 0 };
  private limits: Record<BreakerKind, number>;

  constructor(thresholds: CircuitBreakerThresholds) {
    this.limits = limitsOf(thresholds);
  }

  update(thresholds: CircuitBreakerThresholds): void {
    this.limits = limitsOf(thresholds);
  }

  tryAcquire(kind: BreakerKind): boolean {
    if (this.active[kind] >= this.limits[kind]) {
      this.overflows[kind]++;
      return false;
    }
    this.active[kind]++;
    return true;
  }

  release(kind: BreakerKind): void {
    if (this.active[kind] > 0) this.active[kind]--;
  }

  inUse(kind: BreakerKind): number {
    return this.active[kind];
  }
}

function limitsOf(t: CircuitBreakerThresholds): Record<BreakerKind, number> {
  return { connections: t.maxConnections, pending: t.maxPendingRequests, requests: t.maxRequests, retries: t.maxRetries };
}
