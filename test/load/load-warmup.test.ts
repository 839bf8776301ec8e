import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FortioGrpcResult, FortioResult } from '../../src/load/fortio-json.js';
import { bulwark, startEcho, type RunningEcho } from './load-support.js';

/*
 * Fortio's warm-up (fhttp/httprunner.go, fgrpc/grpcrunner.go): before a timed run (no -n), one call
 * per connection that counts nowhere, all at once or one after another with -sequential-warmup; a
 * warm-up call that fails aborts the run (exit 1, "Aborting because of ...") unless -allow-initial-errors.
 */

let server: http.Server;
let base: string;
let served = 0;
/** For each request, how many were in flight when it arrived. */
let inFlightAtArrival: number[] = [];
let inFlight = 0;
let echo: RunningEcho;
const dir = mkdtempSync(join(tmpdir(), 'bulwark-warmup-'));

before(async () => {
  server = http.createServer((req, res) => {
    served++;
    inFlightAtArrival.push(++inFlight);
    const answer = (): void => {
      inFlight--;
      res.statusCode = req.url === '/busy' ? 503 : 200;
      res.end('ok');
    };
    if (req.url === '/slow') setTimeout(answer, 50);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  echo = await startEcho();
});

after(async () => {
  server.close();
  await echo?.stop();
});

function reset(): void {
  served = 0;
  inFlightAtArrival = [];
}

test('a timed run first makes one call per connection, all at once, counted nowhere but in "plus N warmup"', async () => {
  reset();
  const run = await bulwark(['load', '-qps', '0', '-c', '3', '-t', '300ms', '-json', '-', `${base}/slow`], 30_000);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as FortioResult;
  assert.equal(served, r.DurationHistogram.Count + 3, 'the server answered the three warm-up calls besides the counted ones');
  assert.deepEqual(inFlightAtArrival.slice(0, 3), [1, 2, 3], 'the three warm-up calls were in flight together');
  assert.deepEqual([r.Bulwark.WarmupCalls, r.SocketCount, r.RetCodes['200']], [3, 3, r.DurationHistogram.Count], 'the run reuses the connections the warm-up opened');
  assert.match(run.stderr, new RegExp(`^All done ${r.DurationHistogram.Count} calls \\(plus 3 warmup\\) `, 'm'));
  reset();
  const sequential = await bulwark(['load', '-sequential-warmup', '-qps', '0', '-c', '3', '-t', '300ms', '-json', '-', `${base}/slow`], 30_000);
  assert.equal(sequential.code, 0, sequential.stderr);
  assert.equal((JSON.parse(sequential.stdout) as FortioResult).SequentialWarmup, true);
  assert.deepEqual(inFlightAtArrival.slice(0, 3), [1, 1, 1], '-sequential-warmup: one connection after another');
  reset();
  const exactly = await bulwark(['load', '-qps', '0', '-c', '3', '-n', '30', '-json', '-', `${base}/`], 30_000);
  assert.equal(served, 30, 'no warm-up with -n');
  assert.equal((JSON.parse(exactly.stdout) as FortioResult).Bulwark.WarmupCalls, 0);
  assert.match(exactly.stderr, /^All done 30 calls \(plus 0 warmup\) /m);
});

test('a warm-up call that is not OK aborts the run with Fortio\'s message and exit 1, unless -allow-initial-errors', async () => {
  const file = join(dir, 'aborted.json');
  const busy = await bulwark(['load', '-qps', '10', '-c', '2', '-t', '1s', '-json', file, `${base}/busy`], 30_000);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, new RegExp(`^Aborting because of error 503 for ${base}/busy \\(\\d+ bytes\\)$`, 'm'));
  assert.doesNotMatch(busy.stderr, /All done/, 'no run, no summary');
  assert.ok(!existsSync(file), 'no results written');
  const sequential = await bulwark(['load', '-sequential-warmup', '-c', '2', '-t', '1s', `${base}/busy`], 30_000);
  assert.equal(sequential.code, 1);
  assert.match(sequential.stderr, new RegExp(`^Aborting because of error 503 for ${base}/busy \\(\\d+ body bytes\\), thread# 0$`, 'm'));
  const refused = await bulwark(['load', '-c', '1', '-t', '1s', 'http://127.0.0.1:1/'], 30_000);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^Aborting because of error -1 for http:\/\/127\.0\.0\.1:1\/ \(0 bytes\)$/m);
  const workers = await bulwark(['load', '-workers', '2', '-c', '2', '-t', '1s', `${base}/busy`], 30_000);
  assert.equal(workers.code, 1, 'a worker\'s failed warm-up aborts the whole run');
  assert.match(workers.stderr, /^Aborting because of error 503 /m);
  const allowed = await bulwark(['load', '-allow-initial-errors', '-qps', '20', '-c', '1', '-t', '300ms', '-json', '-', `${base}/busy`], 30_000);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.ok(((JSON.parse(allowed.stdout) as FortioResult).RetCodes['503'] ?? 0) > 0, 'the run goes on and counts its 503s');
});

test('-grpc warms up each channel once (not each stream), and a gRPC error aborts the run', async () => {
  const run = await bulwark(['load', '-quiet', '-grpc', '-s', '2', '-qps', '0', '-c', '2', '-t', '300ms', '-json', '-', `127.0.0.1:${echo.grpcPort}`], 30_000);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as FortioGrpcResult;
  assert.equal(r.Bulwark.WarmupCalls, 2);
  assert.match(run.stderr, /\(plus 2 warmup\)/);
  const refused = await bulwark(['load', '-grpc', '-c', '1', '-t', '1s', '-timeout', '500ms', '127.0.0.1:1'], 30_000);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^Aborting because of rpc error: code = (Unavailable|DeadlineExceeded)$/m);
});
