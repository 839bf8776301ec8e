import { hash32 } from './hash-key.js';
import type { Host } from './host.js';
import type { LoadBalancer } from './load-balancer.js';
import { WeightedPicker } from './weighted-picker.js';

/**
 * Consistent hashing on a ring (Envoy's ring_hash / Ketama): each host owns points in proportion to
 * its weight; a key goes to the first selectable host clockwise from its hash. The ring is built over
 * every host, so when one is ejected or unhealthy only its own keys move.
 */
export class RingHashLoadBalancer implements LoadBalancer {
  private points = new Uint32Array(0);
  private owners: Host[] = [];
  private readonly fallback = new WeightedPicker();

  constructor(
    private readonly minimumRingSize: number,
    private readonly maximumRingSize: number,
  ) {}

  refresh(all: readonly Host[], candidates: readonly Host[], membershipChanged: boolean): void {
    this.fallback.reset(candidates);
    if (membershipChanged || this.owners.length === 0) this.build(all);
  }

  choose(hashKey: string | undefined): Host | undefined {
    // Requests without the hash input spread like random, as Envoy does.
    if (hashKey === undefined || this.points.length === 0) return this.fallback.pick();
    const points = this.points;
    const h = hash32(hashKey);
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    for (let step = 0; step < points.length; step++) {
      const owner = this.owners[(lo + step) % points.length]!;
      if (owner.selectable) return owner;
    }
    return undefined;
  }

  private build(all: readonly Host[]): void {
    if (all.length === 0) {
      this.points = new Uint32Array(0);
      this.owners = [];
      return;
    }
    const total = all.reduce((s, h) => s + h.weight, 0);
    const size = Math.min(Math.max(this.minimumRingSize, all.length), this.maximumRingSize);
    const entries: Array<[number, Host]> = [];
    for (const host of all) {
      const count = Math.max(1, Math.round((size * host.weight) / total));
      for (let i = 0; i < count; i++) entries.push([hash32(`${host.key}_${i}`), host]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    this.points = Uint32Array.from(entries, (e) => e[0]);
    this.owners = entries.map((e) => e[1]);
  }
}
