import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let kept: TestUpstream;
let removed: TestUpstream;
let proxy: RunningProxy;
let port: number;

function config(withRemoved: boolean): string {
  const routes = routeConfig([
    ...(withRemoved ? [{ match: { prefix: '/removed' }, route: { cluster: 'removed' } }] : []),
    { match: { prefix: '/' }, route: { cluster: 'kept' } },
  ]);
  const clusters = [staticCluster('kept', [kept.port]), ...(withRemoved ? [staticCluster('removed', [removed.port])] : [])];
  return bootstrap([httpListener('in', port, routes)], clusters);
}

async function get(path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' } });
  return (JSON.parse(await res.text()) as { upstream: string }).upstream;
}

async function reloadTo(withRemoved: boolean): Promise<void> {
  const applied = proxy.logs().split('config applied').length;
  proxy.reload(config(withRemoved));
  const deadline = Date.now() + 10_000;
  while (proxy.logs().split('config applied').length === applied) {
    if (Date.now() > deadline) throw new Error(`reload not applied:\n${proxy.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function workersReady(notPid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const now = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number; ready: boolean }> };
    if (now.workers.length === 2 && now.workers.every((w) => w.ready && w.pid !== notPid)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the killed worker was not replaced');
}

function removedClusterLines(text: string): string[] {
  return text.split('\n').filter((l) => l.includes('cluster="removed"'));
}

before(async () => {
  // Each answer closes its connection, so every request opens one: a count to compare.
  const closing = (name: string) => startUpstream(name, (_req, res) => {
    res.writeHead(200, { connection: 'close', 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: name }));
  });
  kept = await closing('kept');
  removed = await closing('removed');
  port = await freePort();
  proxy = await startProxy(config(true), { concurrency: 2 });
});

after(async () => {
  await proxy?.stop();
  await kept?.close();
  await removed?.close();
});

test('a cluster a reload removes loses its metrics in every worker and in the merged view; Istio request metrics stay', async () => {
  for (let i = 0; i < 4; i++) assert.equal(await get('/removed'), 'removed');
  assert.equal(await get('/k'), 'kept');
  let text = (await proxy.get('/stats/prometheus')).body;
  assert.match(text, /^bulwark_upstream_connections_total\{cluster="removed"\} 4$/m);
  // A worker that exits leaves its counts with the primary (counters never go backwards): those
  // must go with the cluster too.
  const dump = JSON.parse((await proxy.get('/bulwark/status')).body) as { workers: Array<{ pid: number }> };
  for (const w of dump.workers) {
    process.kill(w.pid, 'SIGKILL');
    await workersReady(w.pid);
  }

  await reloadTo(false);
  text = (await proxy.get('/stats/prometheus')).body;
  assert.deepEqual(removedClusterLines(text), []);
  assert.match(text, /^bulwark_upstream_connections_total\{cluster="kept"\} 1$/m);
  // Istio's metrics are keyed by labels, not by the cluster: its stats filter keeps them.
  assert.match(text, /^istio_requests_total\{[^}]*destination_service="removed"[^}]*response_code="200"[^}]*\} 4$/m);
});

test('a removed cluster added again starts its counts from zero', async () => {
  await reloadTo(true);
  assert.equal(await get('/removed'), 'removed');
  const text = (await proxy.get('/stats/prometheus')).body;
  assert.match(text, /^bulwark_upstream_connections_total\{cluster="removed"\} 1$/m, removedClusterLines(text).join('\n'));
});

test('in a single process, a removed cluster loses its metrics too', async () => {
  await proxy.stop();
  proxy = await startProxy(config(true), { concurrency: 1 });
  assert.equal(await get('/removed'), 'removed');
  assert.match((await proxy.get('/stats/prometheus')).body, /^bulwark_upstream_connections_total\{cluster="removed"\} 1$/m);
  await reloadTo(false);
  const text = (await proxy.get('/stats/prometheus')).body;
  assert.deepEqual(removedClusterLines(text), []);
  assert.match(text, /^istio_requests_total\{[^}]*destination_service="removed"[^}]*\} 1$/m);
});
