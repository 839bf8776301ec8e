/**
 * The shared breaker counts: each worker writes its own row, a limit sees the sum over the rows, and a
 * cluster keeps its slot from one config to the next. Both sides run in this process here, mapping the
 * same memory file twice, as the primary and a worker do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_SLOTS, clusterSlotsFrom, ResourceTableOwner, WorkerResourceTable } from '../../src/proxy/workers/shared-resource-table.js';
import { Resource } from '../../src/proxy/upstream/resource-counts.js';

test('a worker row per claim, each worker counts in its own row and a limit sees the sum', () => {
  const owner = ResourceTableOwner.create(2)!;
  assert.ok(owner, 'the shared-memory addon is built (scripts/build-native.sh)');
  const rowA = owner.claimRow()!;
  const rowB = owner.claimRow()!;
  assert.notEqual(rowA.row, rowB.row);
  const slots = owner.slotsFor(['a', 'b']);
  const workerA = new WorkerResourceTable(rowA);
  const workerB = new WorkerResourceTable(rowB);
  workerA.useSlots(slots);
  workerB.useSlots(slots);
  const a1 = workerA.countsFor('a');
  const a2 = workerB.countsFor('a');
  a1.setLocal(Resource.requests, 3);
  a2.setLocal(Resource.requests, 2);
  assert.equal(a1.local(Resource.requests), 3);
  assert.equal(a2.total(Resource.requests), 5);
  assert.equal(workerA.countsFor('b').total(Resource.requests), 0, 'another cluster has its own cells');
  owner.releaseRow(rowA.row);
  assert.equal(a2.total(Resource.requests), 2, "a released row's counts stop counting");
  assert.equal(owner.claimRow()!.row, rowA.row, 'the freed row is given out again');
});

test('a cluster keeps its slot across configs; new names take new slots; past the room, none', () => {
  const owner = ResourceTableOwner.create(1)!;
  const first = owner.slotsFor(['a', 'b']);
  const second = owner.slotsFor(['b', 'c']);
  assert.equal(second.b, first.b);
  assert.ok(second.c !== first.a && second.c !== first.b);
  const many = owner.slotsFor(Array.from({ length: CLUSTER_SLOTS + 10 }, (_, i) => `x${i}`));
  assert.equal(Object.keys(many).length, CLUSTER_SLOTS - 3, 'every slot is taken once');
});

test('a cluster without a slot counts in this process alone', () => {
  const owner = ResourceTableOwner.create(1)!;
  const worker = new WorkerResourceTable(owner.claimRow()!);
  worker.useSlots({});
  const counts = worker.countsFor('unknown');
  counts.setLocal(Resource.connections, 1);
  assert.equal(counts.total(Resource.connections), 1);
});

test("a removed cluster's slot is given back only once no worker can write it, and starts at zero for its next cluster", () => {
  const owner = ResourceTableOwner.create(1, 2)!;
  const attachment = owner.claimRow()!;
  const worker = new WorkerResourceTable(attachment);
  const first = owner.slotsFor(['old', 'kept']);
  owner.sent(attachment.row, first);
  worker.useSlots(first);
  const old = worker.countsFor('old');
  worker.countsFor('kept');
  old.setLocal(Resource.requests, 1);
  owner.answered(attachment.row, worker.heldSlots());
  assert.deepEqual(owner.reclaim(new Set(['kept'])), [], 'the worker still counts in old\'s slot');

  const second = owner.slotsFor(['kept']);
  owner.sent(attachment.row, second);
  assert.deepEqual(owner.reclaim(new Set(['kept'])), [], 'the worker has not answered the config without old yet');
  worker.useSlots(second);
  worker.release(old);
  owner.answered(attachment.row, worker.heldSlots());
  assert.deepEqual(owner.reclaim(new Set(['kept'])), ['old']);

  const third = owner.slotsFor(['kept', 'new']);
  assert.equal(third.new, first.old, 'the next new name takes the slot back');
  worker.useSlots(third);
  const next = worker.countsFor('new');
  assert.equal(next.total(Resource.requests), 0, "old's request in flight does not count for new");
  next.setLocal(Resource.requests, 1);
  old.setLocal(Resource.requests, old.local(Resource.requests) - 1);
  assert.equal(old.local(Resource.requests), 0, 'old counts on in its own memory');
  assert.equal(next.total(Resource.requests), 1, "old's late finish leaves new's count alone");
});

test('a worker that exits gives back what it held; a name still in the config keeps its slot', () => {
  const owner = ResourceTableOwner.create(1, 4)!;
  const attachment = owner.claimRow()!;
  const slots = owner.slotsFor(['a', 'b']);
  owner.sent(attachment.row, slots);
  owner.answered(attachment.row, Object.values(slots));
  owner.releaseRow(attachment.row);
  assert.deepEqual(owner.reclaim(new Set(['a'])), ['b']);
  assert.deepEqual(owner.slotsFor(['a']), { a: slots.a });
});

test('BULWARK_CLUSTER_SLOTS sizes the table; without it the default holds', () => {
  assert.equal(clusterSlotsFrom({}), CLUSTER_SLOTS);
  assert.equal(clusterSlotsFrom({ BULWARK_CLUSTER_SLOTS: '8' }), 8);
  assert.throws(() => clusterSlotsFrom({ BULWARK_CLUSTER_SLOTS: '0' }), /BULWARK_CLUSTER_SLOTS must be an integer/);
  assert.throws(() => clusterSlotsFrom({ BULWARK_CLUSTER_SLOTS: 'many' }), /BULWARK_CLUSTER_SLOTS must be an integer/);
});
