import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { parseLoadArgs } from '../../src/load/load-options.js';
import { LoopSchedule } from '../../src/load/load-schedule.js';
import { bulwark } from './load-support.js';

const plain = { uniform: false, jitter: false, noCatchUp: false };

test('schedule: loops start together by default and spread over one interval with -uniform, as Fortio\'s', () => {
  // 40 qps over 4 loops: an interval of 25 ms, each loop every 100 ms.
  const firsts = (uniform: boolean): number[] => [0, 1, 2, 3].map((j) => new LoopSchedule(25, 4, j, 0, false, { ...plain, uniform }).nextSlot(0)!);
  assert.deepEqual(firsts(false), [0, 0, 0, 0]);
  assert.deepEqual(firsts(true), [0, 25, 50, 75]);
  const s = new LoopSchedule(25, 4, 2, 0, false, { ...plain, uniform: true });
  assert.deepEqual([s.nextSlot(0), s.nextSlot(0), s.nextSlot(0)], [50, 150, 250]);
});

test('schedule: -nocatchup skips the slots a stall made late; without it they are kept (sent late)', () => {
  const keep = new LoopSchedule(10, 1, 0, 0, false, plain);
  keep.nextSlot(0);
  assert.deepEqual([keep.nextSlot(55), keep.nextSlot(55)], [10, 20], 'late slots are still sent, in a burst');
  const skip = new LoopSchedule(10, 1, 0, 0, false, { ...plain, noCatchUp: true });
  skip.nextSlot(0);
  assert.deepEqual([skip.nextSlot(55), skip.nextSlot(55)], [60, 70], 'the next slot ahead of now, then the timeline goes on');
  const onTime = new LoopSchedule(10, 1, 0, 0, false, { ...plain, noCatchUp: true });
  assert.deepEqual([onTime.nextSlot(0), onTime.nextSlot(3)], [0, 10], 'a loop that keeps up loses nothing');
});

test('schedule: a loop with a count makes that many calls, spread to the end of the duration as Fortio\'s runOne', () => {
  // 4 calls at one every 10 ms: Fortio's (i + i/(n-1)) × period puts the last at 40 ms, not 30.
  const spread = new LoopSchedule(10, 1, 0, 4, true, plain);
  const slots = [0, 0, 0, 0, 0].map(() => spread.nextSlot(0));
  assert.deepEqual(slots.map((s) => (s === undefined ? s : Math.round(s * 100) / 100)), [0, 13.33, 26.67, 40, undefined]);
  const counted = new LoopSchedule(10, 1, 0, 3, false, { ...plain, noCatchUp: true });
  assert.deepEqual([counted.nextSlot(0), counted.nextSlot(15), counted.nextSlot(15)], [0, 20, undefined], 'a skipped slot uses up one of the count, as in Fortio');
});

test('schedule: -jitter moves each wait by at most 10 %', () => {
  const wait = (r: number): number => new LoopSchedule(10, 1, 0, 0, false, { ...plain, jitter: true }, () => r).wait(200);
  assert.equal(wait(0), 180);
  assert.equal(wait(0.5), 200);
  assert.ok(Math.abs(wait(0.999999) - 220) < 1e-3);
  assert.equal(new LoopSchedule(10, 1, 0, 0, false, plain, () => 0).wait(200), 200, 'no jitter without the flag');
});

test('load flags: -uniform, -jitter and -nocatchup (Go booleans), off by default', () => {
  assert.deepEqual(parseLoadArgs(['http://h/']).schedule, plain);
  assert.deepEqual(parseLoadArgs(['-uniform', '-jitter', '-nocatchup=true', 'http://h/']).schedule, { uniform: true, jitter: true, noCatchUp: true });
});

/** A server that records when each request arrived (ms since the first) and can stall one response. */
async function timingServer(stallAt = -1, stallMs = 0): Promise<{ url: string; arrivals: number[]; close(): void }> {
  const arrivals: number[] = [];
  let first = 0;
  const server = http.createServer((_req, res) => {
    const now = performance.now();
    if (arrivals.length === 0) first = now;
    arrivals.push(now - first);
    if (arrivals.length === stallAt) setTimeout(() => res.end(), stallMs);
    else res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, arrivals, close: () => server.close() };
}

async function load(args: string[]): Promise<FortioResult> {
  const r = await bulwark(['load', '-quiet', '-json', '-', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as FortioResult;
}

test('-uniform staggers the connections\' first calls; by default they go out together; both echoed in the JSON', async () => {
  const together = await timingServer();
  const spread = await timingServer();
  try {
    // Two calls per connection: with fewer, Fortio would run on fewer threads.
    const a = await load(['-qps', '20', '-c', '4', '-n', '8', together.url]);
    const b = await load(['-uniform', '-qps', '20', '-c', '4', '-n', '8', spread.url]);
    assert.ok(together.arrivals[3]! < 40, `default: the 4 first calls together, arrived over ${together.arrivals[3]} ms`);
    // 20 qps: an interval of 50 ms, so the fourth connection starts 150 ms in.
    assert.ok(spread.arrivals[3]! > 120, `-uniform: the 4 first calls spread, the last at ${spread.arrivals[3]} ms`);
    assert.deepEqual([a.Uniform, a.Jitter, a.NoCatchUp], [false, false, false]);
    assert.deepEqual([b.Uniform, b.Jitter, b.NoCatchUp], [true, false, false]);
  } finally {
    together.close();
    spread.close();
  }
});

test('-nocatchup: after a stall the missed calls are dropped, not sent in a burst that inflates latency', async () => {
  // 50 qps on one connection for 1 s; the 10th response takes 400 ms, so ~20 slots pass during it.
  const catchUp = await timingServer(10, 400);
  const noCatchUp = await timingServer(10, 400);
  try {
    const a = await load(['-qps', '50', '-c', '1', '-t', '1s', catchUp.url]);
    const b = await load(['-nocatchup', '-qps', '50', '-c', '1', '-t', '1s', noCatchUp.url]);
    assert.ok(a.DurationHistogram.Count >= 45, `catching up keeps the count: ${a.DurationHistogram.Count}`);
    assert.ok(b.DurationHistogram.Count <= 35, `-nocatchup drops the late slots: ${b.DurationHistogram.Count}`);
    const burst = (arrivals: number[]): number => arrivals.slice(10, 15).at(-1)! - arrivals[10]!;
    assert.ok(burst(catchUp.arrivals) < 30, `catching up sends the next calls back to back (${burst(catchUp.arrivals)} ms)`);
    assert.ok(burst(noCatchUp.arrivals) > 60, `-nocatchup keeps the 20 ms spacing (${burst(noCatchUp.arrivals)} ms)`);
    const p90 = (r: FortioResult): number => r.DurationHistogram.Percentiles.find((p) => p.Percentile === 90)!.Value;
    assert.ok(p90(b) < p90(a), `late calls are not counted from their slot: p90 ${p90(b)} < ${p90(a)}`);
    assert.equal(b.NoCatchUp, true);
  } finally {
    catchUp.close();
    noCatchUp.close();
  }
});
