import type { Host } from './host.js';
import type { LoadBalancer } from './load-balancer.js';
import { WeightedPicker } from './weighted-picker.js';

/** Uniform (or weighted) random choice: no shared state, good when many proxies balance the same hosts. */
export class RandomLoadBalancer implements LoadBalancer {
  private readonly picker = new WeightedPicker();

  refresh(_all: readonly Host[], candidates: readonly Host[]): void {
    this.picker.reset(candidates);
  }

  choose(): Host | undefined {
    return this.picker.pick();
  }
}
