import assert from 'node:assert/strict';
import { test } from 'node:test';
import { streamDeadlines, type StreamDeadlineHolder } from '../../src/proxy/http/stream-deadlines.js';

function holder(log: string[], name: string): StreamDeadlineHolder {
  return {
    requestDeadline: 0,
    routeDeadline: 0,
    perTryDeadline: 0,
    listSlot: -1,
    requestTimeout: () => log.push(`${name}:request@${Math.round(performance.now())}`),
    routeTimeout: () => log.push(`${name}:route@${Math.round(performance.now())}`),
    perTryTimeout: () => log.push(`${name}:try@${Math.round(performance.now())}`),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('deadlines fire when due, in time order, an earlier one re-arms the timer, and a removed stream never fires', async () => {
  const log: string[] = [];
  const start = performance.now();
  const late = holder(log, 'late');
  late.routeDeadline = start + 300;
  streamDeadlines.watch(late, late.routeDeadline);
  const early = holder(log, 'early');
  early.routeDeadline = start + 60;
  streamDeadlines.watch(early, early.routeDeadline);
  const gone = holder(log, 'gone');
  gone.routeDeadline = start + 100;
  streamDeadlines.watch(gone, gone.routeDeadline);
  streamDeadlines.remove(gone);
  await sleep(150);
  assert.deepEqual(log.map((l) => l.split('@')[0]), ['early:route']);
  const firedAt = Number(log[0]!.split('@')[1]) - start;
  assert.ok(firedAt >= 59 && firedAt < 140, `fired after ${firedAt} ms`);
  await sleep(250);
  assert.deepEqual(log.map((l) => l.split('@')[0]), ['early:route', 'late:route']);
});

test('a per-try timeout that starts a retry with a new per-try deadline is watched again', async () => {
  const log: string[] = [];
  const h = holder(log, 'h');
  let tries = 0;
  h.perTryTimeout = () => {
    tries++;
    log.push(`try${tries}`);
    if (tries < 3) h.perTryDeadline = performance.now() + 30; // the retry's own per-try deadline
  };
  h.routeDeadline = performance.now() + 400;
  h.perTryDeadline = performance.now() + 30;
  streamDeadlines.watch(h, h.perTryDeadline);
  await sleep(250);
  assert.deepEqual(log, ['try1', 'try2', 'try3']);
  streamDeadlines.remove(h);
  await sleep(250);
  assert.deepEqual(log, ['try1', 'try2', 'try3'], 'a removed stream gets no route timeout');
});

test('removals from the middle and from inside a timeout keep every other stream watched exactly once', async () => {
  const log: string[] = [];
  const start = performance.now();
  const all: StreamDeadlineHolder[] = [];
  for (let i = 0; i < 8; i++) {
    const h = holder(log, `s${i}`);
    // s6 is due later, so only a removal can explain it never firing.
    h.routeDeadline = start + (i === 6 ? 150 : 40 + i);
    all.push(h);
    streamDeadlines.watch(h, h.routeDeadline);
    streamDeadlines.watch(h, h.routeDeadline); // watching twice must not add it twice
  }
  assert.equal(streamDeadlines.size, 8);
  streamDeadlines.remove(all[2]!);
  streamDeadlines.remove(all[2]!); // removing twice is harmless
  streamDeadlines.remove(all[0]!);
  assert.equal(streamDeadlines.size, 6);
  // s5's timeout ends s6 (as a finished stream removes itself) and s3's ends itself.
  all[5]!.routeTimeout = () => {
    log.push('s5:route');
    streamDeadlines.remove(all[6]!);
  };
  all[3]!.routeTimeout = () => {
    log.push('s3:route');
    streamDeadlines.remove(all[3]!);
  };
  await sleep(120);
  assert.deepEqual(log.map((l) => l.split('@')[0]).sort(), ['s1:route', 's3:route', 's4:route', 's5:route', 's7:route']);
  assert.equal(streamDeadlines.size, 0);
  await sleep(100);
  assert.equal(log.length, 5, 's6 was removed by s5 and never fires');
  for (const h of all) assert.equal(h.listSlot, -1);
});

test('a deadline beyond what a Node timer holds (a client\'s huge grpc-timeout) waits, without re-arming every millisecond', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.name);
  };
  process.on('warning', onWarning);
  const log: string[] = [];
  const far = holder(log, 'far');
  far.routeDeadline = performance.now() + 3.6e14;
  streamDeadlines.watch(far, far.routeDeadline);
  await sleep(100);
  streamDeadlines.remove(far);
  process.off('warning', onWarning);
  assert.deepEqual(log, []);
  assert.ok(!warnings.includes('TimeoutOverflowWarning'), `warnings: ${warnings.join(', ')}`);
});
