import type { Host } from './host.js';
import type { LoadBalancer } from './load-balancer.js';
import { WeightedPicker } from './weighted-picker.js';

/**
 * Least request by the power of N choices (N = 2 by default, as Envoy): sample N candidates and take
 * the one with the fewest active requests per unit of weight. O(1) per request, no herding.
 */
export class LeastRequestLoadBalancer implements LoadBalancer {
  private readonly picker = new WeightedPicker();

  constructor(private readonly choiceCount: number) {}

  refresh(_all: readonly Host[], candidates: readonly Host[]): void {
    this.picker.reset(candidates);
  }

  choose(): Host | undefined {
    const n = this.picker.size;
    if (n <= 1) return this.picker.pick();
    let bestIndex = this.picker.pickIndex();
    let best = this.picker.at(bestIndex);
    for (let i = 1; i < this.choiceCount; i++) {
      // Sampling with replacement would often compare a host with itself when hosts are few.
      const otherIndex = this.picker.pickOtherIndex(bestIndex);
      const other = this.picker.at(otherIndex);
      if (other.activeRequests * best.weight < best.activeRequests * other.weight) {
        best = other;
        bestIndex = otherIndex;
      }
    }
    return best;
  }
}
