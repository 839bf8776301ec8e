import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark, rawHttpServer } from './load-support.js';

test('-gomaxprocs sets the processes the run uses, reported as Fortio reports its CPUs: "before->after procs" and "[gomax N]"', async () => {
  const server = await rawHttpServer(() => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const url = `${server.url}/`;
  try {
    const two = await bulwark(['load', '-quiet', '-qps', '0', '-c', '2', '-n', '6', '-gomaxprocs', '2', '-json', '-', url]);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stderr, new RegExp(`^Bulwark \\S+ running at 0 queries per second, 1->2 procs, for 6 calls: ${url}$`, 'm'));
    assert.match(two.stderr, /^Starting at max qps with \d+ thread\(s\) \[gomax 2\]/m);
    const r = JSON.parse(two.stdout) as FortioResult;
    assert.deepEqual(r.RetCodes, { '200': 6 });
    // It takes precedence over -workers; below 1 it leaves the processes as they are (Go's GOMAXPROCS(0)).
    const over = await bulwark(['load', '-quiet', '-qps', '0', '-c', '2', '-n', '2', '-workers', '2', '-gomaxprocs', '1', url]);
    assert.match(over.stderr, /2->1 procs/);
    assert.match(over.stderr, /\[gomax 1\]/);
    const left = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '1', '-gomaxprocs', '0', url]);
    assert.match(left.stderr, /1->1 procs/);
    const bad = await bulwark(['load', '-gomaxprocs', 'many', url]);
    assert.equal(bad.code, 2);
  } finally {
    server.close();
  }
});
