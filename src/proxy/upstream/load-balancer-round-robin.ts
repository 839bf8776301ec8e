import type { Host } from './host.js';
import { weightsDiffer, type LoadBalancer } from './load-balancer.js';

/** Round robin; with unequal weights, smooth weighted round robin (spreads a heavy host's turns out). */
export class RoundRobinLoadBalancer implements LoadBalancer {
  private candidates: readonly Host[] = [];
  private next = 0;
  private weighted = false;
  private current: number[] = [];
  private totalWeight = 0;

  refresh(_all: readonly Host[], candidates: readonly Host[]): void {
    this.candidates = candidates;
    this.weighted = weightsDiffer(candidates);
    this.current = candidates.map(() => 0);
    this.totalWeight = candidates.reduce((s, h) => s + h.weight, 0);
  }

  choose(): Host | undefined {
    const c = this.candidates;
    if (c.length === 0) return undefined;
    if (!this.weighted) {
      if (this.next >= c.length) this.next = 0;
      return c[this.next++];
    }
    let best = 0;
    for (let i = 0; i < c.length; i++) {
      this.current[i]! += c[i]!.weight;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.totalWeight;
    return c[best];
  }
}
