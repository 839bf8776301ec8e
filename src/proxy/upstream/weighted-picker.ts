import type { Host } from './host.js';
import { weightsDiffer } from './load-balancer.js';

/** Random choice among hosts in proportion to their weights (uniform when weights are equal). */
export class WeightedPicker {
  private hosts: readonly Host[] = [];
  private cumulative: number[] = [];
  private weighted = false;

  reset(hosts: readonly Host[]): void {
    this.hosts = hosts;
    this.weighted = weightsDiffer(hosts);
    let total = 0;
    this.cumulative = hosts.map((h) => (total += h.weight));
  }

  get size(): number {
    return this.hosts.length;
  }

  pick(): Host | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    if (!this.weighted) return this.hosts[(Math.random() * n) | 0];
    const target = Math.random() * this.cumulative[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return this.hosts[lo];
  }

  /** A second, different host (for power-of-two choices): uniform over the others when weights are equal. */
  pickOther(first: Host): Host {
    const hosts = this.hosts;
    const n = hosts.length;
    if (!this.weighted) {
      const at = hosts.indexOf(first);
      const i = (Math.random() * (n - 1)) | 0;
      return hosts[at < 0 || i < at ? i : i + 1]!;
    }
    for (let retry = 0; retry < 4; retry++) {
      const other = this.pick()!;
      if (other !== first) return other;
    }
    // A dominant weight keeps drawing `first`: compare with its neighbour rather than with itself.
    return hosts[(hosts.indexOf(first) + 1) % n]!;
  }
}
