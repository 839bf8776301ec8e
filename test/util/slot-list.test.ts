import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlotList, type SlotListMember } from '../../src/util/slot-list.js';

interface Item extends SlotListMember {
  id: number;
}

const item = (id: number): Item => ({ id, listSlot: -1 });

function ids(list: SlotList<Item>): number[] {
  const out: number[] = [];
  list.forEach((m) => out.push(m.id));
  return out.sort((a, b) => a - b);
}

test('adds and removes in any order agree with a Set, and slots always point at the member', () => {
  const list = new SlotList<Item>();
  const reference = new Set<Item>();
  const items = Array.from({ length: 40 }, (_, i) => item(i));
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let step = 0; step < 5000; step++) {
    const it = items[Math.floor(random() * items.length)]!;
    if (random() < 0.55) {
      list.add(it);
      reference.add(it);
    } else {
      list.remove(it);
      reference.delete(it);
    }
    assert.equal(list.size, reference.size);
  }
  assert.deepEqual(ids(list), [...reference].map((m) => m.id).sort((a, b) => a - b));
  for (const it of items) assert.equal(it.listSlot >= 0, reference.has(it));
});

test('a walk may remove the member it visits and others; every remaining member is visited, removed ones are not', () => {
  const list = new SlotList<Item>();
  const items = Array.from({ length: 10 }, (_, i) => item(i));
  for (const it of items) list.add(it);
  const visited = new Set<number>();
  list.forEach((m) => {
    visited.add(m.id);
    if (m.id % 2 === 0) list.remove(m); // removes itself
    if (m.id === 9) list.remove(items[1]!); // removes one not yet visited
  });
  assert.ok(!visited.has(1), 'a member removed before its turn is not visited');
  for (const id of [0, 2, 3, 4, 5, 6, 7, 8, 9]) assert.ok(visited.has(id), `member ${id} was visited`);
  assert.deepEqual(ids(list), [3, 5, 7, 9]);
  assert.equal(items[1]!.listSlot, -1);
});
