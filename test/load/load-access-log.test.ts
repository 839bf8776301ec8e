import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark, rawHttpServer, type RawServer } from './load-support.js';

/* Fortio's -access-log-file and -access-log-format: a line per call, appended (periodic.go fileAccessLogger). */

let server: RawServer;
const dir = mkdtempSync(join(tmpdir(), 'bulwark-load-access-'));

before(async () => {
  server = await rawHttpServer((path) => (path === '/busy' ? 'HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n' : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
});

after(() => server.close());

interface JsonLine {
  latency: number;
  timestamp: number;
  thread: number;
  iter: number;
  ok: boolean;
  details: string;
}

test('-access-log-file: a JSON line per call with its thread, iteration, status and latency, appended to what the file held', async () => {
  const file = join(dir, 'calls.json');
  writeFileSync(file, 'kept\n');
  const startedMs = Date.now();
  const r = await bulwark(['load', '-quiet', '-qps', '0', '-c', '2', '-n', '5', '-access-log-file', file, '-json', '-', `${server.url}/`]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as FortioResult;
  assert.equal(json.AccessLoggerInfo, `mode json to ${file}`);
  assert.match(r.stderr, new RegExp(`^Starting at max qps with 2 thread\\(s\\) \\[gomax 1\\] for exactly 5 calls \\(2 per thread \\+ 1\\) with access logger mode json to ${file.replaceAll('.', '\\.')}$`, 'm'));
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines[0], 'kept', 'appended, as Fortio opens the file with O_APPEND');
  const calls = lines.slice(1, -1).map((l) => {
    assert.match(l, /^\{"latency":\d+\.\d{6},"timestamp":\d{19},"thread":\d,"iter":\d,"ok":true,"details":"200"\}$/);
    return JSON.parse(l) as JsonLine;
  });
  assert.equal(calls.length, 5);
  assert.deepEqual(calls.map((c) => `${c.thread}:${c.iter}`).sort(), ['0:0', '0:1', '0:2', '1:0', '1:1']);
  assert.ok(calls.every((c) => c.timestamp / 1e6 >= startedMs - 1000 && c.timestamp / 1e6 <= Date.now()), 'Unix nanoseconds of each call\'s start');
});

test('-access-log-format influx: Fortio\'s line protocol, a failed call not ok; a bad format or file stops the run with exit 1', async () => {
  const file = join(dir, 'calls.influx');
  const r = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '2', '-access-log-file', file, '-access-log-format', 'Influx', `${server.url}/busy`]);
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  for (const l of lines) assert.match(l, /^latency,thread=0,ok=false value=\d+\.\d{6},details="503" \d{19}$/);
  const bad = await bulwark(['load', '-quiet', '-n', '1', '-access-log-file', join(dir, 'x'), '-access-log-format', 'csv', `${server.url}/`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid format "csv", should be "json" or "influx"/);
  const unopenable = await bulwark(['load', '-quiet', '-n', '1', '-access-log-file', join(dir, 'no', 'such', 'dir'), `${server.url}/`]);
  assert.equal(unopenable.code, 1);
  assert.match(unopenable.stderr, /Unable to open access log .*no\/such\/dir: /);
  assert.doesNotMatch(unopenable.stderr, /All done/);
});
