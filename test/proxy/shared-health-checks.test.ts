/**
 * Active health checks with several workers: one worker probes (as Envoy probes once from its main
 * thread, not once per worker thread) and every worker acts on the results; when that worker dies,
 * another takes the probing over.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const INTERVAL_MS = 200;
let flaky: TestUpstream;
let steady: TestUpstream;
let proxy: RunningProxy;
let port: number;
let flakyHealthy = true;
/** When each health probe reached the flaky upstream. */
const probes: number[] = [];

before(async () => {
  flaky = await startUpstream('flaky', (req, res) => {
    if (req.url === '/healthz') {
      probes.push(Date.now());
      res.writeHead(flakyHealthy ? 200 : 503);
      res.end();
      return;
    }
    res.end('flaky');
  });
  steady = await startUpstream('steady', (req, res) => res.end(req.url === '/healthz' ? '' : 'steady'));
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'pair' } }]);
  proxy = await startProxy(
    bootstrap(
      [httpListener('ingress', port, routes)],
      [
        staticCluster('pair', [flaky.port, steady.port], {
          healthChecks: [{ timeout: '1s', interval: `${INTERVAL_MS / 1000}s`, unhealthyThreshold: 1, healthyThreshold: 1, httpHealthCheck: { path: '/healthz' } }],
        }),
      ],
    ),
    { concurrency: 2 },
  );
});

after(async () => {
  await proxy?.stop();
  await flaky?.close();
  await steady?.close();
});

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function probesSince(t: number): number {
  return probes.filter((p) => p >= t).length;
}

test('two workers probe each host once per interval, not once per worker', async () => {
  await wait(500);
  const t0 = Date.now();
  await wait(2000);
  const seen = probesSince(t0);
  // One prober: about 2000 / 200 = 10 probes (the interval has up to 10 % jitter). Two would be about 20.
  assert.ok(seen >= 6 && seen <= 13, `${seen} probes in 2 s`);
});

test('every worker stops sending to a host the probing worker found unhealthy, and takes it back', async () => {
  flakyHealthy = false;
  await wait(INTERVAL_MS * 3);
  // New connections: the kernel spreads them over both workers.
  const bodies = await Promise.all(Array.from({ length: 16 }, (_, i) => curl([`http://127.0.0.1:${port}/r${i}`]).then((r) => r.body)));
  assert.deepEqual([...new Set(bodies)], ['steady']);
  const clusters = (await proxy.get('/clusters')).body;
  assert.match(clusters, new RegExp(`^pair::127\\.0\\.0\\.1:${flaky.port}::health_flags::/failed_active_hc$`, 'm'));
  flakyHealthy = true;
  await wait(INTERVAL_MS * 3);
  const back = await Promise.all(Array.from({ length: 16 }, (_, i) => curl([`http://127.0.0.1:${port}/b${i}`]).then((r) => r.body)));
  assert.ok(back.includes('flaky'), 'the host is used again');
});

async function waitReady(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await proxy.get('/ready').catch(() => ({ status: 0 }))).status === 200) return;
    await wait(50);
  }
  throw new Error('proxy not ready again');
}

function workerPids(): number[] {
  return execFileSync('pgrep', ['-P', String(proxy.child.pid)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map(Number);
}

test('when a worker dies, probing goes on, still from one worker', async () => {
  // Whichever worker probes, killing each in turn kills the prober once.
  for (const pid of workerPids()) {
    process.kill(pid, 'SIGKILL');
    await wait(800);
    await waitReady();
    const t0 = Date.now();
    await wait(2000);
    const seen = probesSince(t0);
    assert.ok(seen >= 6 && seen <= 13, `${seen} probes in 2 s after worker ${pid} died`);
  }
});
