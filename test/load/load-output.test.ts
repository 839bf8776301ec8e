import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark, rawHttpServer, type RawServer } from './load-support.js';

/* What `bulwark load` writes where, as `fortio load` does (cli/fortio_main.go), for scripts written against Fortio. */

let server: RawServer;
const dir = mkdtempSync(join(tmpdir(), 'bulwark-load-output-'));

before(async () => {
  server = await rawHttpServer(() => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
});

after(() => server.close());

test('all text goes to stderr; stdout holds the JSON of -json - and nothing else', async () => {
  const plain = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '5', `${server.url}/`]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, '', 'without -json -, nothing on stdout');
  assert.match(plain.stderr, /^Code 200 : 5 \(100\.0 %\)$/m);
  assert.match(plain.stderr, /^All done 5 calls \(plus 0 warmup\) /m);
  const json = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '5', '-json', '-', `${server.url}/`]);
  assert.equal((JSON.parse(json.stdout) as FortioResult).DurationHistogram.Count, 5, 'stdout is exactly the JSON');
  assert.match(json.stderr, /^All done 5 calls /m);
  assert.match(json.stderr, new RegExp(`^Successfully wrote ${Buffer.byteLength(json.stdout)} bytes of Json data to stdout$`, 'm'));
  const file = join(dir, 'run.json');
  const saved = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '5', '-json', file, `${server.url}/`]);
  assert.equal(saved.stdout, '');
  assert.match(saved.stderr, new RegExp(`^Successfully wrote ${Buffer.byteLength(readFileSync(file))} bytes of Json data to ${file}$`, 'm'));
});

test('the exit code is Fortio\'s: 0 for a run that ran, whatever its calls returned; 1 for one that could not start', async () => {
  const refused = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '3', '-json', '-', 'http://127.0.0.1:1/']);
  assert.equal(refused.code, 0, 'every call failed, but the run ran: RetCodes says how it went');
  assert.deepEqual((JSON.parse(refused.stdout) as FortioResult).RetCodes, { '-1': 3 });
  const file = join(dir, 'unresolved.json');
  const unresolved = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '3', '-json', file, 'http://no-such-host.invalid/']);
  assert.equal(unresolved.code, 1, 'a host that does not resolve stops the run before it starts');
  assert.match(unresolved.stderr, /^Aborting because of lookup no-such-host\.invalid: no such host$/m);
  assert.doesNotMatch(unresolved.stderr, /All done/);
  assert.throws(() => readFileSync(file), /ENOENT/, 'and writes no results');
});

test('the text has Fortio\'s lines: who runs at what rate, how the calls split among threads, and "Ended after" in Go\'s durations', async () => {
  const timed = await bulwark(['load', '-quiet', '-qps', '20', '-c', '2', '-t', '500ms', `${server.url}/`]);
  assert.equal(timed.code, 0, timed.stderr);
  const lines = timed.stderr.split('\n');
  const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
  const url = `${server.url}/`.replaceAll('.', '\\.');
  const order = [
    at(new RegExp(`^Bulwark \\S+ running at 20 queries per second, 1->1 procs, for 500ms: ${url}$`)),
    at(/^Starting at 20 qps with 2 thread\(s\) \[gomax 1\] for 500ms : 5 calls each \(total 10\)$/),
    // Fortio's last call of each thread goes out as the duration ends: the run ends just after it.
    at(/^Ended after 5\d\d(\.\d+)?ms : 10 calls\. qps=[\d.]+$/),
    at(/^Aggregated Function Time : count 10 /),
    at(/^All done 10 calls \(plus 2 warmup\) /),
  ];
  assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), `lines in Fortio's order: ${order}\n${timed.stderr}`);
  const exactly = await bulwark(['load', '-quiet', '-qps', '0', '-c', '2', '-n', '7', `${server.url}/`]);
  assert.match(exactly.stderr, new RegExp(`^Bulwark \\S+ running at 0 queries per second, 1->1 procs, for 7 calls: ${url}$`, 'm'));
  assert.match(exactly.stderr, /^Starting at max qps with 2 thread\(s\) \[gomax 1\] for exactly 7 calls \(3 per thread \+ 1\)$/m);
  assert.match(exactly.stderr, /^Ended after [\d.]+(ms|µs|s) : 7 calls\. qps=[\d.e+]+$/m, 'no more after the qps than Fortio writes');
});

test('at a fixed rate, Fortio\'s sleep times follow "Ended after"; when more than 5 % of them were late, its histogram and warning', async () => {
  const steady = await bulwark(['load', '-quiet', '-qps', '40', '-c', '2', '-t', '500ms', `${server.url}/`]);
  // 20 calls when the machine keeps up; a loaded one may fit fewer in the 500 ms.
  const steadyRun = /^Ended after \S+ : (\d+) calls\. qps=\S+\nSleep times : count (\d+) avg 0\.0\d+ \+\/- \S+ min \S+ max \S+ sum \S+\nAggregated Function Time /m.exec(steady.stderr);
  assert.ok(steadyRun && Number(steadyRun[1]) >= 10, steady.stderr);
  assert.equal(Number(steadyRun[2]), Number(steadyRun[1]) - 2, 'a wait after each call but the last of each connection');
  const max = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '5', `${server.url}/`]);
  assert.doesNotMatch(max.stderr, /Sleep/, 'no waits at max rate');
  let calls = 0;
  const stalling = http.createServer((_req, res) => {
    if (++calls === 5) setTimeout(() => res.end('late'), 300);
    else res.end('ok');
  });
  await new Promise<void>((r) => stalling.listen(0, '127.0.0.1', r));
  try {
    const late = await bulwark(['load', '-quiet', '-qps', '50', '-c', '1', '-t', '1s', `http://127.0.0.1:${(stalling.address() as AddressInfo).port}/`]);
    const warning = /^WARNING ([\d.]+)% of sleep were falling behind$/m.exec(late.stderr);
    assert.ok(warning && Number(warning[1]) > 5, late.stderr);
    // The count and the least wait are left loose: on a loaded machine fewer than 49 calls fit the second,
    // and the stalled call can leave the next wait later than its 300 ms.
    assert.match(late.stderr, /^Aggregated Sleep Time : count \d+ avg -\S+ \+\/- \S+ min -(0\.[2-9]|[1-9])\S* max \S+ sum \S+\n# range, mid point, percentile, count\n>= -(0\.[2-9]|[1-9])\S* <= -0\.001 , /m, 'the late waits in the first bucket, at or below -1 ms');
    assert.match(late.stderr, /^# target 50% \S+\nWARNING /m);
  } finally {
    stalling.close();
  }
});

test('a target without a scheme is an http:// URL, as Fortio assumes', async () => {
  const hostPort = new URL(server.url).host;
  const run = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '2', '-json', '-', `${hostPort}/echo`]);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as FortioResult;
  assert.deepEqual([r.RetCodes, r.URL], [{ '200': 2 }, `http://${hostPort}/echo`]);
  assert.match(r.Labels, new RegExp(`^${hostPort.replaceAll('.', '\\.')}/echo , `), 'the default labels, from the target as given');
  const ftp = await bulwark(['load', '-n', '1', 'ftp://h/']);
  assert.equal(ftp.code, 2);
  assert.match(ftp.stderr, /unsupported scheme ftp:/);
});
