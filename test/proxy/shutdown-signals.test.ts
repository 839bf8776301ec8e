/**
 * A second SIGTERM or SIGINT during a drain ends the drain early: in-flight requests are cut, the
 * workers still stop (none outlives the primary), the exit is logged, and the exit code is 0.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { alive } from '../support/process-alive.js';

let slow: TestUpstream;

before(async () => {
  // Answers long after the test's drain would have ended on its own: only an early end lets it finish quickly.
  slow = await startUpstream('slow', (_req, res) => setTimeout(() => res.end('late'), 30_000).unref());
});

after(async () => {
  slow.server.closeAllConnections();
  await slow?.close();
});

/** A proxy with a request in flight to the slow upstream and a long --drain-time. */
async function busyProxy(concurrency: number): Promise<{ proxy: RunningProxy; inFlight: Promise<string>; workerPids: number[] }> {
  const port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'slow', timeout: '60s' } }]);
  const proxy = await startProxy(bootstrap([httpListener('main', port, routes)], [staticCluster('slow', [slow.port])]), { concurrency, extraArgs: ['--drain-time', '30'] });
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers?: unknown };
  const workerPids = Array.isArray(dump.workers) ? (dump.workers as Array<{ pid: number }>).map((w) => w.pid) : [];
  const seen = slow.requests.length;
  const inFlight = new Promise<string>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/in-flight' }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(`response ${res.statusCode}`));
      res.on('error', () => resolve('cut'));
    });
    req.on('error', () => resolve('cut'));
  });
  // The upstream holds the request: the drain has something to wait for.
  for (let i = 0; i < 250 && slow.requests.length === seen; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(slow.requests.length, seen + 1, 'the request reached the upstream');
  return { proxy, inFlight, workerPids };
}

async function signalTwice(proxy: RunningProxy, signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; ms: number }> {
  const exited = new Promise<[number | null, string | null]>((r) => proxy.child.once('exit', (c, s) => r([c, s])));
  const t0 = Date.now();
  proxy.child.kill(signal);
  await proxy.waitForLog(/"msg":"draining"/);
  await new Promise((r) => setTimeout(r, 200));
  proxy.child.kill(signal);
  const guard = setTimeout(() => proxy.child.kill('SIGKILL'), 10_000);
  const [code, sig] = await exited;
  clearTimeout(guard);
  return { code, signal: sig, ms: Date.now() - t0 };
}

test('--concurrency 2: a second SIGTERM ends the drain early, stops both workers and exits 0 with a log line', async () => {
  const { proxy, inFlight, workerPids } = await busyProxy(2);
  assert.equal(workerPids.length, 2);
  const exit = await signalTwice(proxy, 'SIGTERM');
  // Checked at once: a worker still alive now would be orphaned.
  assert.deepEqual(workerPids.filter(alive), [], 'no worker outlives the primary');
  assert.deepEqual([exit.code, exit.signal], [0, null], proxy.logs());
  assert.ok(exit.ms < 6_000, `exited after ${exit.ms} ms, not at the end of the 30 s drain`);
  assert.match(proxy.logs(), /drain ended early: in-flight requests are cut; stopping workers now.*"reason":"SIGTERM"/);
  assert.match(proxy.logs(), /workers stopped; exiting after a drain ended early/);
  assert.equal(await inFlight, 'cut');
});

test('one process: a second SIGINT ends the drain early and exits 0 with a log line', async () => {
  const { proxy, inFlight } = await busyProxy(1);
  const exit = await signalTwice(proxy, 'SIGINT');
  assert.deepEqual([exit.code, exit.signal], [0, null], proxy.logs());
  assert.ok(exit.ms < 6_000, `exited after ${exit.ms} ms`);
  assert.match(proxy.logs(), /drain ended early: in-flight requests are cut; exiting now.*"reason":"SIGINT"/);
  assert.equal(await inFlight, 'cut');
});
