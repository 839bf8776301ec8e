/**
 * The shared breaker counts: each worker writes its own row, a limit sees the sum over the rows, and a
 * cluster keeps its slot from one config to the next. Both sides run in this process here, mapping the
 * same memory file twice, as the primary and a worker do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_SLOTS, ResourceTableOwner, WorkerResourceTable } from '../../src/proxy/workers/shared-resource-table.js';
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
