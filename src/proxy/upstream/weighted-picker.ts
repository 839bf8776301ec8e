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
    return this.hosts.length === 0 ? undefined : this.hosts[this.pickIndex()];
  }

  /** The index of a random host, in proportion to weight; call only when there are hosts. */
  pickIndex(): number {
    const n = this.hosts.length;
    if (!this.weighted) return (Math.random() * n) | 0;
    const target = Math.random() * this.cumulative[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * The index of a second, different host (for power-of-two choices): uniform over the others when
   * weights are equal; call only with two hosts or more.
   */
  pickOtherIndex(first: number): number {
    if (!this.weighted) {
      const i = (Math.random() * (this.hosts.length - 1)) | 0;
      return i < first ? i : i + 1;
    }
    for (let retry = 0; retry < 4; retry++) {
      const other = this.pickIndex();
      if (other !== first) return other;
    }
    // A dominant weight keeps drawing `first`: compare with its neighbour rather than with itself.
    return (first + 1) % this.hosts.length;
  }

  /** The host at `index`. */
  at(index: number): Host {
    return this.hosts[index]!;
  }
}
