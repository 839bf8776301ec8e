import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
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
