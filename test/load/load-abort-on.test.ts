import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { LoadUsageError, parseLoadArgs } from '../../src/load/load-options.js';
import { bulwark } from './load-support.js';

/** Answers 200 until the 20th request, 503 from then on. */
let server: http.Server;
let url: string;
let served = 0;

before(async () => {
  server = http.createServer((_req, res) => {
    res.statusCode = ++served >= 20 ? 503 : 200;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(() => server.close());

async function load(args: string[]): Promise<{ r: FortioResult; stderr: string }> {
  served = 0;
  const run = await bulwark(['load', '-quiet', '-json', '-', ...args], 30_000);
  assert.equal(run.code, 0, run.stderr);
  return { r: JSON.parse(run.stdout) as FortioResult, stderr: run.stderr };
}

test('load flags: -abort-on takes a status or -1, 0 (the default) for none', () => {
  assert.equal(parseLoadArgs(['http://h/']).abortOn, 0);
  assert.equal(parseLoadArgs(['-abort-on', '503', 'http://h/']).abortOn, 503);
  assert.equal(parseLoadArgs(['-abort-on=-1', 'http://h/']).abortOn, -1);
  for (const bad of ['5xx', '1.5', '-2', '1000']) assert.throws(() => parseLoadArgs(['-abort-on', bad, 'http://h/']), LoadUsageError, bad);
});

test('-abort-on 503 ends the run at the first 503, with AbortOn and the interrupted count in the JSON', async () => {
  const { r, stderr } = await load(['-abort-on', '503', '-qps', '0', '-c', '2', '-n', '5000', url]);
  const n = r.DurationHistogram.Count;
  assert.ok(n >= 20 && n <= 22, `stopped at the first 503 (calls in flight finish): ${n} calls`);
  assert.ok((r.RetCodes['503'] ?? 0) >= 1 && (r.RetCodes['503'] ?? 0) <= 3, JSON.stringify(r.RetCodes));
  assert.equal(r.AbortOn, 503);
  assert.equal(r.RequestedDuration, `exactly 5000 calls, interrupted after ${n}`);
  assert.match(stderr, /Aborted run because of code 503/);
  const timed = await load(['-abort-on', '503', '-qps', '100', '-c', '1', '-t', '10s', url]);
  // The server's first answer went to the warm-up call, so its first 503 is the run's 19th call.
  assert.deepEqual([timed.r.DurationHistogram.Count, timed.r.Bulwark.WarmupCalls], [19, 1], 'a timed run stops too, long before its 10 s');
  assert.ok(timed.r.ActualDuration < 5e9, `ActualDuration ${timed.r.ActualDuration} ns`);
  const unset = await load(['-qps', '0', '-c', '2', '-n', '40', url]);
  assert.deepEqual([unset.r.DurationHistogram.Count, unset.r.AbortOn, unset.r.RequestedDuration], [40, 0, 'exactly 40 calls'], 'without the flag, 503s are just counted');
});

test('-abort-on -1 stops at the first socket error; with -workers one worker\'s abort stops them all', async () => {
  const refused = await bulwark(['load', '-quiet', '-abort-on', '-1', '-qps', '0', '-c', '1', '-n', '50', '-json', '-', 'http://127.0.0.1:1/']);
  const r = JSON.parse(refused.stdout) as FortioResult;
  assert.deepEqual(r.RetCodes, { '-1': 1 });
  const workers = await load(['-workers', '2', '-abort-on', '503', '-qps', '0', '-c', '2', '-n', '200000', url]);
  assert.ok(workers.r.DurationHistogram.Count < 5000, `both workers stopped: ${workers.r.DurationHistogram.Count} calls`);
  assert.ok((workers.r.RetCodes['503'] ?? 0) >= 1);
});
