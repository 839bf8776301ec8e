import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark, rawHttpServer, type RawServer } from './load-support.js';

/*
 * How many calls a run makes and on which connection, as Fortio's periodic runner splits them
 * (periodic.go runQPSSetup, runMaxQPSSetup, Run): qps × duration (or -n) divided among the
 * threads, rounded down for a timed run, the -n remainder on thread 0, and fewer threads when
 * there are fewer than two calls for each.
 */

let server: RawServer;
let requests = 0;

before(async () => {
  server = await rawHttpServer(() => {
    requests++;
    return 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  });
});

after(() => server.close());

async function load(args: string[]): Promise<{ json: FortioResult; stderr: string; served: number }> {
  const before = requests;
  const r = await bulwark(['load', '-quiet', '-json', '-', ...args, `${server.url}/`]);
  assert.equal(r.code, 0, r.stderr);
  return { json: JSON.parse(r.stdout) as FortioResult, stderr: r.stderr, served: requests - before };
}

test('a timed run makes qps × duration calls rounded down to a multiple of -c, as Fortio: 10 qps for 1s on 3 connections is 9 calls', async () => {
  const { json, stderr, served } = await load(['-qps', '10', '-t', '1s', '-c', '3']);
  assert.equal(json.DurationHistogram.Count, 9);
  assert.equal(served, 9 + 3, 'the 9 calls and the 3 warm-up calls reached the server, no more');
  assert.equal(json.NumThreads, 3);
  assert.equal(json.Exactly, 0);
  assert.equal(json.RequestedDuration, '1s');
  assert.match(stderr, /^Starting at 10 qps with 3 thread\(s\) \[gomax 1\] for 1s : 3 calls each \(total 9\)$/m);
  assert.match(stderr, /^All done 9 calls \(plus 3 warmup\) /m);
});

test('with fewer than two calls per connection, Fortio lowers the threads and says so: 4 calls on -c 3 run on 2', async () => {
  const { json, stderr } = await load(['-qps', '4', '-t', '1s', '-c', '3']);
  assert.equal(json.DurationHistogram.Count, 4);
  assert.equal(json.NumThreads, 2);
  assert.equal(json.Sockets.length, 2, 'the sockets of the threads that ran, as Fortio reports them');
  assert.match(stderr, /Lowering number of threads - total call 4 -> lowering from 3 to 2 threads/);
  assert.match(stderr, /^Starting at 4 qps with 2 thread\(s\) \[gomax 1\] for 1s : 2 calls each \(total 4\)$/m);
  const one = await load(['-qps', '1', '-t', '1s', '-c', '2']);
  assert.equal(one.json.DurationHistogram.Count, 2, 'at least 2 calls, on one thread');
  assert.equal(one.json.NumThreads, 1);
  assert.match(one.stderr, /Increasing the number of calls to the minimum of 2 with 1 thread/);
});

test('-n that does not divide among the connections: the remainder goes to the first, at a fixed rate and at max rate', async () => {
  // A connection per call (-keepalive=false), so each connection's sockets are its calls.
  const paced = await load(['-qps', '40', '-n', '10', '-c', '4', '-keepalive=false']);
  assert.equal(paced.json.DurationHistogram.Count, 10);
  assert.equal(paced.json.Exactly, 10);
  assert.equal(paced.json.RequestedDuration, 'exactly 10 calls');
  assert.deepEqual(paced.json.Sockets, [4, 2, 2, 2]);
  assert.match(paced.stderr, /^Starting at 40 qps with 4 thread\(s\) \[gomax 1\] : exactly 10, 2 calls each \(total 8 \+ 2\)$/m);
  const max = await load(['-qps', '0', '-n', '10', '-c', '4', '-keepalive=false']);
  assert.equal(max.json.DurationHistogram.Count, 10);
  assert.deepEqual(max.json.Sockets, [4, 2, 2, 2]);
  assert.match(max.stderr, /^Starting at max qps with 4 thread\(s\) \[gomax 1\] for exactly 10 calls \(2 per thread \+ 2\)$/m);
});

test('-workers split the threads of the same plan: the same count as one process', async () => {
  const { json } = await load(['-workers', '2', '-qps', '10', '-t', '1s', '-c', '3']);
  assert.equal(json.DurationHistogram.Count, 9);
  assert.equal(json.NumThreads, 3);
});

test('-n at a fixed rate spreads the calls to the end, as Fortio with its default -t; with -t 0 they keep the plain interval', async () => {
  let first = 0;
  const arrivals: number[] = [];
  const timing = http.createServer((_req, res) => {
    const now = performance.now();
    if (arrivals.length === 0) first = now;
    arrivals.push(now - first);
    res.end();
  });
  await new Promise<void>((r) => timing.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(timing.address() as AddressInfo).port}/`;
  const lastOf = async (args: string[]): Promise<number> => {
    arrivals.length = 0;
    const r = await bulwark(['load', '-quiet', '-qps', '5', '-c', '1', '-n', '4', ...args, url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(arrivals.length, 4);
    return arrivals[3]!;
  };
  try {
    // 4 calls at 5 qps: Fortio's (i + i/(n-1)) / qps puts the last at 800 ms; i / qps at 600 ms
    // (less the first call's connect, which the server sees late).
    const spread = await lastOf([]);
    const plain = await lastOf(['-t', '0']);
    assert.ok(spread >= 730, `spread to the end: the last call at ${spread} ms`);
    assert.ok(plain >= 500 && plain < 690, `-t 0: the last call at ${plain} ms`);
  } finally {
    timing.close();
  }
});

test('a fixed-rate timed loop that falls behind stops at the end of the duration, with Fortio\'s warning', async () => {
  // Each response takes 250 ms: the loop's 20 calls at 20 qps cannot fit in 1s.
  const slow = http.createServer((_req, res) => void setTimeout(() => res.end('slow'), 250));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  try {
    const r = await bulwark(['load', '-quiet', '-json', '-', '-qps', '20', '-c', '1', '-t', '1s', `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as FortioResult;
    assert.ok(json.DurationHistogram.Count >= 4 && json.DurationHistogram.Count <= 6, `${json.DurationHistogram.Count} calls`);
    assert.ok(json.ActualDuration < 2e9, `ended after ${json.ActualDuration / 1e6} ms, not at the -timeout cut`);
    assert.match(r.stderr, new RegExp(`^\\[W\\] T000 warning only did ${json.DurationHistogram.Count} out of 20 calls before reaching 1s$`, 'm'));
  } finally {
    slow.close();
  }
});
