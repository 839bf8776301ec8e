/**
 * The primary's watchdog: a worker whose event loop stops (here SIGSTOP; in production a TLS handshake
 * that waits on a stalled keyd signs synchronously) is reported within seconds in the log, in
 * /stats/prometheus and in /bulwark/status, and the balancers that place connections in the primary pass
 * it over (with the kernel's balancing, a stalled worker does not accept), so new connections are served
 * by the other worker instead of waiting on the stalled one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import { startUpstream } from '../support/upstream.js';

interface WorkerDump {
  index: number;
  pid: number;
  responsive: boolean;
}

/** One request on a new connection; the status, or 0 when no answer came within a second. */
async function answer(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(1000) });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

// round-robin passes the stalled worker over; with none (the kernel) the workers share one listening
// socket, and one that does not run does not accept.
for (const balancer of ['round-robin', 'none']) {
  test(`a stalled worker is reported, and new connections go to the other (${balancer}) until it runs again`, async () => {
    const upstream = await startUpstream('app');
    const port = await freePort();
    const listener = httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]));
    if (balancer !== 'none') (listener as Record<string, unknown>).connectionBalanceConfig = { balancer };
    const proxy = await startProxy(bootstrap([listener], [staticCluster('app', [upstream.port])]), { concurrency: 2 });
    const workers = async () => (JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: WorkerDump[] }).workers;
    const stopped = (await workers())[1]!;
    try {
      process.kill(stopped.pid, 'SIGSTOP');
      await proxy.waitForLog(/worker event loop stalled/, 6000);
      const metrics = (await proxy.get('/stats/prometheus')).body;
      assert.match(metrics, /^bulwark_worker_stalled\{worker="1"\} 1$/m);
      assert.match(metrics, /^bulwark_worker_stalls_total\{worker="1"\} 1$/m);
      assert.deepEqual((await workers()).map((w) => w.responsive), [true, false]);
      // Every new connection goes to the worker that runs: none waits on the stopped one.
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push(await answer(port));
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);

      process.kill(stopped.pid, 'SIGCONT');
      await proxy.waitForLog(/worker event loop runs again/, 5000);
      assert.match((await proxy.get('/stats/prometheus')).body, /^bulwark_worker_stalled\{worker="1"\} 0$/m);
      assert.deepEqual((await workers()).map((w) => w.responsive), [true, true]);
    } finally {
      process.kill(stopped.pid, 'SIGCONT');
      await proxy.stop();
      await upstream.close();
    }
  });
}

test("a worker silent past the watchdog's kill timeout is killed and a fresh process takes its place", async () => {
  const upstream = await startUpstream('app');
  const port = await freePort();
  const listener = httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]));
  (listener as Record<string, unknown>).connectionBalanceConfig = { balancer: 'round-robin' };
  // Envoy's bootstrap field, as an Envoy config would set it.
  const config = { ...(JSON.parse(bootstrap([listener], [staticCluster('app', [upstream.port])])) as object), watchdogs: { worker_watchdog: { megamiss_timeout: '1s', kill_timeout: '2s' } } };
  const proxy = await startProxy(JSON.stringify(config), { concurrency: 2 });
  const workers = async () => (JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<WorkerDump & { ready: boolean }> }).workers;
  const stopped = (await workers())[1]!;
  try {
    process.kill(stopped.pid, 'SIGSTOP');
    await proxy.waitForLog(/worker event loop stalled/, 5000);
    await proxy.waitForLog(/silent past the watchdog kill timeout/, 5000);
    const deadline = Date.now() + 15_000;
    let replacement: (WorkerDump & { ready: boolean }) | undefined;
    while (Date.now() < deadline) {
      const w = (await workers())[1];
      if (w !== undefined && w.pid !== stopped.pid && w.ready) {
        replacement = w;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(replacement, `worker 1 was replaced\n${proxy.logs().slice(-2000)}`);
    assert.equal(replacement.responsive, true);
    assert.throws(() => process.kill(stopped.pid, 0), /ESRCH/, 'the stalled process is gone');
    const metrics = (await proxy.get('/stats/prometheus')).body;
    assert.match(metrics, /^bulwark_worker_replacements_total\{reason="watchdog"\} 1$/m);
    assert.match(metrics, /^bulwark_worker_stalled\{worker="1"\} 0$/m);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push(await answer(port));
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
  } finally {
    try {
      process.kill(stopped.pid, 'SIGCONT');
    } catch {
      // already gone: the watchdog killed it
    }
    await proxy.stop();
    await upstream.close();
  }
});
