/** An object that can sit in one SlotList; the list owns the field. */
export interface SlotListMember {
  /** Where the object sits in its list; -1 when it is not in one. */
  listSlot: number;
}

/**
 * An unordered set of objects with O(1) add and remove that allocates nothing per operation: each
 * member carries its index, and removal moves the last member into the freed slot.
 *
 * Why not a Set: a Set rehashes into a new table as members churn, and the old table keeps its
 * entries and a link to the new one. Under load the old tables are promoted while still current,
 * then, dead in old space, keep every member they held (and the next table) alive through each
 * scavenge. For a set of in-flight requests that promoted about a quarter of every request's objects
 * and made scavenges 5x slower (see docs/benchmarks.md, "GC").
 */
export class SlotList<T extends SlotListMember> {
  private readonly members: T[] = [];

  get size(): number {
    return this.members.length;
  }

  /** Adds `member` unless it is already in the list. */
  add(member: T): void {
    if (member.listSlot >= 0) return;
    member.listSlot = this.members.length;
    this.members.push(member);
  }

  /** Removes `member` if it is in the list. */
  remove(member: T): void {
    const slot = member.listSlot;
    if (slot < 0) return;
    member.listSlot = -1;
    const last = this.members.pop()!;
    if (last !== member) {
      this.members[slot] = last;
      last.listSlot = slot;
    }
  }

  /**
   * Calls `visit` for each member. `visit` may remove members (itself or others) and add new ones:
   * the walk runs from the end, so a removal moves only an already visited member into a free slot
   * (it may be visited again) and an added member waits for the next walk.
   */
  forEach(visit: (member: T) => void): void {
    for (let i = this.members.length - 1; i >= 0; i--) {
      if (i < this.members.length) visit(this.members[i]!);
    }
  }
}
