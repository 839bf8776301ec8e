/**
 * The primary's record of the shared breaker table's cluster slots: which slot each cluster name counts
 * in, and which workers may still write each slot. A slot is free again only when no worker can write
 * it: none held it in its last answer to a config, no config on its way to a worker names it, and its
 * name is not in the config the workers are to run. A worker stops writing a slot before it answers the
 * config that removed the cluster (ResourceCounts.detach zeroes its cells and moves its requests still
 * in flight to memory of its own), so a slot given out again starts at zero and stays untouched by the
 * old cluster. Workers report their slots with each answer to a config: nothing is exchanged per request.
 */
export class ClusterSlotLedger {
  private readonly slotOf = new Map<string, number>();
  /** Slots given back, taken before fresh ones. */
  private readonly free: number[] = [];
  /** Slots below this have been given out at least once. */
  private fresh = 0;
  /** Per worker row: the slots it counted in when it last answered a config. */
  private readonly held: Array<Set<number>>;
  /** Per worker row: for each config sent to it and not answered yet (oldest first), the slots it names. */
  private readonly promised: number[][][];

  constructor(
    private readonly capacity: number,
    rows: number,
  ) {
    this.held = Array.from({ length: rows }, () => new Set<number>());
    this.promised = Array.from({ length: rows }, () => []);
  }

  /**
   * The slot of each named cluster: a name keeps its slot while it has one (a kept cluster's counts stay
   * in place), a new name takes a free slot, and names beyond the table's room get none.
   */
  assign(clusters: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of clusters) {
      let slot = this.slotOf.get(name);
      if (slot === undefined) {
        slot = this.free.pop() ?? (this.fresh < this.capacity ? this.fresh++ : undefined);
        if (slot !== undefined) this.slotOf.set(name, slot);
      }
      if (slot !== undefined) out[name] = slot;
    }
    return out;
  }

  /** A config naming `slots` went to the worker of `row`; it answers its configs in order. */
  sent(row: number, slots: Record<string, number>): void {
    this.promised[row]!.push(Object.values(slots));
  }

  /** The worker of `row` answered its oldest config (applied or rejected) and counts in `holding` now. */
  answered(row: number, holding: readonly number[]): void {
    this.promised[row]!.shift();
    this.held[row] = new Set(holding);
  }

  /** The worker of `row` is gone (the primary zeroed its row): it writes nothing any more. */
  forget(row: number): void {
    this.held[row] = new Set();
    this.promised[row] = [];
  }

  /** Frees the slots of names outside `live` that no worker may write; returns the names freed. */
  reclaim(live: ReadonlySet<string>): string[] {
    const busy = new Set<number>();
    for (const slots of this.held) for (const s of slots) busy.add(s);
    for (const configs of this.promised) for (const slots of configs) for (const s of slots) busy.add(s);
    const freed: string[] = [];
    for (const [name, slot] of this.slotOf) {
      if (live.has(name) || busy.has(slot)) continue;
      this.slotOf.delete(name);
      this.free.push(slot);
      freed.push(name);
    }
    return freed;
  }
}
