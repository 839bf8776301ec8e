/**
 * A worker that dies while the proxy starts (before it serves its first config) fails the start at
 * once, naming the worker and how it died, rather than after the workers' answer timeout; a worker
 * that did start is not left behind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootstrap, httpListener, routeConfig } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import { alive } from '../support/process-alive.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-startup-crash-'));

/**
 * A module every worker of the proxy loads first (NODE_OPTIONS, which workers inherit): worker 0 writes
 * down its pid and starts as usual; worker 1 waits for that pid (so both exist when it dies), then dies
 * as `death` says.
 */
function crashingWorker1(death: string): NodeJS.ProcessEnv {
  const file = join(dir, `crash-${Math.random().toString(36).slice(2)}.mjs`);
  const pidFile = JSON.stringify(`${file}.worker0`);
  writeFileSync(
    file,
    [
      "import cluster from 'node:cluster';",
      "import { existsSync, writeFileSync } from 'node:fs';",
      'if (cluster.isWorker) {',
      '  const { workerIndex } = JSON.parse(process.env.BULWARK_WORKER_SETTINGS);',
      `  if (workerIndex === 0) writeFileSync(${pidFile}, String(process.pid));`,
      '  else {',
      '    const until = Date.now() + 10_000;',
      `    while (!existsSync(${pidFile}) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);`,
      `    ${death};`,
      '  }',
      '}',
    ].join('\n'),
  );
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${file}`.trim(), CRASH_MODULE: file };
}

async function failedStart(env: NodeJS.ProcessEnv): Promise<{ error: string; ms: number }> {
  const port = await freePort();
  const config = bootstrap([httpListener('main', port, routeConfig([{ match: { prefix: '/' }, directResponse: { status: 200 } }]))], []);
  const started = Date.now();
  const error = await startProxy(config, { concurrency: 2, env }).then(
    () => assert.fail('the proxy started'),
    (err: Error) => err.message,
  );
  return { error, ms: Date.now() - started };
}

test('a worker that exits while the proxy starts fails the start promptly, naming the worker and its exit code', async () => {
  const env = crashingWorker1('process.exit(3)');
  const { error, ms } = await failedStart(env);
  assert.match(error, /^proxy exited with 1:/);
  assert.match(error, /"msg":"proxy failed to start".*"error":"worker 1 \(pid \d+\) exited with code 3 before it was ready"/);
  assert.doesNotMatch(error, /restarting/, 'a worker that cannot start is not restarted over and over');
  assert.ok(ms < 8_000, `failed after ${ms} ms`);
  const worker0 = Number(readFileSync(`${env.CRASH_MODULE}.worker0`, 'utf8'));
  assert.equal(alive(worker0), false, 'the worker that did start is stopped with the proxy');
});

test('a worker killed by a signal while the proxy starts fails the start, naming the signal', async () => {
  const { error, ms } = await failedStart(crashingWorker1("process.kill(process.pid, 'SIGKILL')"));
  assert.match(error, /"error":"worker 1 \(pid \d+\) was killed by SIGKILL before it was ready"/);
  assert.ok(ms < 8_000, `failed after ${ms} ms`);
});
