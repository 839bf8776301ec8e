import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let a: TestUpstream;
let b: TestUpstream;
let slow: TestUpstream;
let proxy: RunningProxy;
let port: number;
let rrPort: number;

function config(cluster: string): string {
  const routes = routeConfig([
    { match: { prefix: '/slow' }, route: { cluster: 'slow', timeout: '10s' } },
    { match: { prefix: '/' }, route: { cluster } },
  ]);
  const rr = httpListener('balanced', rrPort, routes);
  (rr as { connectionBalanceConfig?: object }).connectionBalanceConfig = { balancer: 'round-robin' };
  return bootstrap([httpListener('shared', port, routes), rr], [staticCluster('a', [a.port]), staticCluster('b', [b.port]), staticCluster('slow', [slow.port])]);
}

before(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  slow = await startUpstream('slow', (_req, res) => setTimeout(() => res.end('finished'), 1200));
  port = await freePort();
  rrPort = await freePort();
  proxy = await startProxy(config('a'), { concurrency: 2 });
});

after(async () => {
  await proxy?.stop();
  for (const u of [a, b, slow]) await u?.close();
});

/** One request on a fresh connection, returning the upstream name and the worker pid that served it. */
async function whoServes(p: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${p}/who`, { headers: { connection: 'close' } });
  return (JSON.parse(await res.text()) as { upstream: string }).upstream;
}

test('two workers serve a shared listener and a round-robin listener', async () => {
  assert.equal(await whoServes(port), 'a');
  assert.equal(await whoServes(rrPort), 'a');
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number; ready: boolean }> };
  assert.equal(dump.workers.length, 2);
  assert.ok(dump.workers.every((w) => w.ready));
});

test('round-robin hands connections to both workers in turn', async () => {
  for (let i = 0; i < 6; i++) await whoServes(rrPort);
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ activeConnections: number }> };
  assert.equal(dump.workers.length, 2);
  const metrics = (await proxy.get('/stats/prometheus')).body;
  const perWorker = [...metrics.matchAll(/bulwark_worker_connections_total\{worker="(\d)"\} (\d+)/g)];
  assert.equal(perWorker.length, 2, metrics.split('\n').filter((l) => l.includes('worker')).join('\n'));
  assert.ok(perWorker.every((m) => Number(m[2]) > 0), 'a worker got no connection');
});

test('counters do not go backwards when a worker dies and is replaced: what it counted stays in the totals', async () => {
  const total = async (): Promise<number> => {
    const text = (await proxy.get('/stats/prometheus')).body;
    return [...text.matchAll(/^istio_requests_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  // Round robin: both workers count some of these.
  for (let i = 0; i < 6; i++) await whoServes(rrPort);
  const before = await total();
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number }> };
  const victim = dump.workers[0]!.pid;
  process.kill(victim, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    const now = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number; ready: boolean }> };
    if (now.workers.length === 2 && now.workers.every((w) => w.ready && w.pid !== victim)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await total(), before, 'the dead worker\'s requests still count');
  await whoServes(rrPort);
  assert.equal(await total(), before + 1, 'and new requests add to them');
});

test('an invalid config on SIGHUP is rejected and the running config keeps serving', async () => {
  proxy.reload('staticResources: { listeners: [ { name: broken } ] }');
  await proxy.waitForLog(/config reload rejected/);
  assert.match(proxy.logs(), /listener \\"broken\\": address: is required/);
  assert.equal(await whoServes(port), 'a');
  // Visible without the logs: counted by every worker, and named by /bulwark/status.
  const metrics = (await proxy.get('/stats/prometheus')).body;
  const rejected = [...metrics.matchAll(/bulwark_config_reloads_total\{result="rejected",worker="\d"\} (\d+)/g)];
  assert.equal(rejected.length, 2, metrics);
  assert.ok(rejected.every((m) => m[1] === '1'), rejected.join('\n'));
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { version: string; lastReloadError?: string };
  assert.equal(dump.version, 'static-1');
  assert.match(dump.lastReloadError ?? '', /proxy\.yaml: listener "broken": address: is required/);
});

test('a reload switches routes on every worker without dropping an in-flight request', async () => {
  const inflight = new Promise<string>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/slow' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 200));
  proxy.reload(config('b'));
  await proxy.waitForLog(/config applied/);
  for (let i = 0; i < 6; i++) assert.equal(await whoServes(port), 'b');
  assert.equal(await inflight, 'finished');
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { lastReloadError?: string };
  assert.equal(dump.lastReloadError, undefined);
});

test('SIGTERM drains: the in-flight request completes and the proxy exits 0 as soon as its workers are done', async () => {
  const inflight = new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/slow' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 200));
  const signalled = Date.now();
  const code = proxy.stop('SIGTERM');
  assert.equal(await inflight, 'finished');
  assert.equal(await code, 0);
  // The request had 1 s left; the drain time is 5 s.
  assert.ok(Date.now() - signalled < 3_000, `exited ${Date.now() - signalled} ms after SIGTERM`);
});

test('a listener that cannot be bound stops the start: the primary and its workers exit 1', async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const busy = (taken.address() as net.AddressInfo).port;
  try {
    const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'a' } }]);
    await assert.rejects(startProxy(bootstrap([httpListener('busy', busy, routes)], [staticCluster('a', [a.port])]), { concurrency: 2 }), /proxy exited with 1:[^]*EADDRINUSE/);
  } finally {
    taken.close();
  }
});

test('a reload whose new listener cannot be bound is refused, and the routes it carried do not serve', async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const busy = (taken.address() as net.AddressInfo).port;
  const to = (cluster: string) => routeConfig([{ match: { prefix: '/' }, route: { cluster } }]);
  const clusters = [staticCluster('a', [a.port]), staticCluster('b', [b.port])];
  try {
    // One process, and workers with the new listener accepted in the primary (round-robin).
    for (const concurrency of [1, 2]) {
      const p = await freePort();
      const other = await startProxy(bootstrap([httpListener('main', p, to('a'))], clusters), { concurrency });
      try {
        const added = httpListener('added', busy, to('b'));
        (added as { connectionBalanceConfig?: object }).connectionBalanceConfig = { balancer: 'round-robin' };
        other.reload(bootstrap([httpListener('main', p, to('b')), added], clusters));
        await other.waitForLog(/config reload rejected/);
        for (let i = 0; i < 4; i++) assert.equal(await whoServes(p), 'a', `--concurrency ${concurrency}`);
        const dump = JSON.parse((await other.get('/bulwark/status')).body) as { version: string };
        assert.equal(dump.version, 'static-1', `--concurrency ${concurrency}`);
      } finally {
        await other.stop();
      }
    }
  } finally {
    taken.close();
  }
});

test('POST /quitquitquit drains for --drain-time, as SIGTERM does', async () => {
  const stuck = await startUpstream('stuck', (_req, res) => setTimeout(() => res.end('late'), 6000));
  try {
    for (const concurrency of [1, 2]) {
      const p = await freePort();
      const other = await startProxy(bootstrap([httpListener('main', p, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'stuck' } }]))], [staticCluster('stuck', [stuck.port])]), {
        concurrency,
        extraArgs: ['--drain-time', '1'],
      });
      const inflight = fetch(`http://127.0.0.1:${p}/`).then(
        (r) => r.text(),
        () => 'cut',
      );
      await new Promise((r) => setTimeout(r, 200));
      const asked = Date.now();
      const exited = new Promise<number | null>((resolve) => other.child.once('exit', (c) => resolve(c)));
      assert.equal((await fetch(`http://127.0.0.1:${other.adminPort}/quitquitquit`, { method: 'POST' })).status, 200);
      assert.equal(await exited, 0);
      // The default 5 s drain would have let the 6 s request run on past 5 s.
      assert.ok(Date.now() - asked < 3_000, `--concurrency ${concurrency}: exited ${Date.now() - asked} ms after /quitquitquit`);
      await inflight;
    }
  } finally {
    await stuck.close();
  }
});
