/**
 * pilot-agent reads Envoy's own stats to decide readiness and config status
 * (pilot/cmd/pilot-agent/status/ready/probe.go, pkg/istio-agent/util/stats.go): it asks for
 * `/stats?usedonly&filter=^(server\.state|listener_manager\.workers_started)`, wants both names in the
 * answer, reads each `name: value` line (exactly one `:`), and is ready at server.state 0 (LIVE) with
 * workers_started 1; its config status reads the lds/cds update_success and update_rejected counters.
 * These tests ask as pilot-agent does (curl) and parse as it does, with 1 and 2 workers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const READY_QUERY = '/stats?usedonly&filter=^(server\\.state|listener_manager\\.workers_started)';
const UPDATES_QUERY = '/stats?usedonly&filter=^(cluster_manager\\.cds|listener_manager\\.lds)\\.(update_success|update_rejected)$';

/** pilot-agent's parseStats: the first line starting with each name, split on ':' into exactly two parts, the value an unsigned integer. */
function parseStats(body: string, names: readonly string[]): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '') continue;
    for (const name of names) {
      if (found.has(name) || !line.startsWith(name)) continue;
      const parts = line.split(':');
      assert.equal(parts.length, 2, `pilot-agent refuses a line without exactly one separator: ${line}`);
      assert.match(parts[1]!.trim(), /^\d+$/, `pilot-agent parses an unsigned integer: ${line}`);
      found.set(name, Number(parts[1]!.trim()));
    }
  }
  return found;
}

/** pilot-agent's GetReadinessStats: both names must be in the answer; returns the server state and whether workers started. */
async function readinessStats(proxy: RunningProxy): Promise<{ state: number; workersStarted: boolean; body: string }> {
  const r = await curl([`http://127.0.0.1:${proxy.adminPort}${READY_QUERY}`]);
  assert.equal(r.status, 200);
  assert.ok(r.body.includes('server.state'), `server.state is not yet updated: ${r.body}`);
  assert.ok(r.body.includes('listener_manager.workers_started'), `listener_manager.workers_started is not yet updated: ${r.body}`);
  const stats = parseStats(r.body, ['server.state', 'listener_manager.workers_started']);
  return { state: stats.get('server.state')!, workersStarted: stats.get('listener_manager.workers_started') === 1, body: r.body };
}

async function configUpdates(proxy: RunningProxy): Promise<{ body: string; stats: Map<string, number> }> {
  const r = await curl([`http://127.0.0.1:${proxy.adminPort}${UPDATES_QUERY}`]);
  assert.equal(r.status, 200);
  const names = ['cluster_manager.cds.update_success', 'cluster_manager.cds.update_rejected', 'listener_manager.lds.update_success', 'listener_manager.lds.update_rejected'];
  return { body: r.body, stats: parseStats(r.body, names) };
}

let up: TestUpstream;
/** Answers /slow after 2 s, to keep a request in flight through a drain. */
before(async () => {
  up = await startUpstream('up', (req, res) => {
    const delay = req.url === '/slow' ? 2_000 : 0;
    setTimeout(() => res.end('ok'), delay);
  });
});
after(async () => {
  await up?.close();
});

function config(port: number, clusterName = 'up'): string {
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: clusterName } }]);
  return bootstrap([httpListener('ingress', port, routes)], [staticCluster(clusterName, [up.port])]);
}

for (const concurrency of [1, 2]) {
  test(`pilot-agent's readiness query (${concurrency} worker(s)): exactly server.state 0 (LIVE) and listener_manager.workers_started 1; DRAINING (1) while health checks fail`, async () => {
    const port = await freePort();
    const proxy = await startProxy(config(port), { concurrency });
    try {
      const ready = await readinessStats(proxy);
      assert.equal(ready.body, 'listener_manager.workers_started: 1\nserver.state: 0\n', 'only the two stats, sorted by name, as Envoy answers');
      assert.equal(ready.state, 0);
      assert.equal(ready.workersStarted, true);
      const noCerts = await curl([`http://127.0.0.1:${proxy.adminPort}/stats?usedonly&filter=^server\\.days_until_first_cert_expiring$`]);
      assert.equal(noCerts.body, '', 'Envoy sets it only when it has a certificate');

      assert.equal((await curl(['-X', 'POST', `http://127.0.0.1:${proxy.adminPort}/healthcheck/fail`])).status, 200);
      assert.equal((await readinessStats(proxy)).state, 1, 'Envoy reports DRAINING while health checks fail, as /ready does');
      assert.equal((await proxy.get('/ready')).body, 'DRAINING\n');
      assert.equal((await curl(['-X', 'POST', `http://127.0.0.1:${proxy.adminPort}/healthcheck/ok`])).status, 200);
      assert.equal((await readinessStats(proxy)).state, 0);
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });

  test(`after SIGTERM (${concurrency} worker(s)): server.state is 1 (DRAINING) while a request in flight holds the drain`, async () => {
    const port = await freePort();
    const proxy = await startProxy(config(port), { concurrency, extraArgs: ['--drain-time', '10'] });
    const inFlight = curl([`http://127.0.0.1:${port}/slow`]);
    await new Promise((r) => setTimeout(r, 300));
    const stopped = proxy.stop('SIGTERM');
    try {
      await proxy.waitForLog(/draining/);
      const draining = await readinessStats(proxy);
      assert.equal(draining.state, 1);
      assert.equal(draining.workersStarted, true, 'workers_started stays set, as in Envoy');
      assert.equal((await inFlight).status, 200);
    } finally {
      assert.equal(await stopped, 0);
    }
  });

  test(`pilot-agent's config status query (${concurrency} worker(s)): the first config and each reload count as LDS and CDS update_success, a refused reload as update_rejected`, async () => {
    const port = await freePort();
    const proxy = await startProxy(config(port), { concurrency });
    try {
      const first = await configUpdates(proxy);
      assert.equal(first.body, 'cluster_manager.cds.update_success: 1\nlistener_manager.lds.update_success: 1\n', '?usedonly leaves out the counters still at 0');

      proxy.reload('staticResources: [this is not a config');
      await proxy.waitForLog(/config reload rejected/);
      const refused = await configUpdates(proxy);
      assert.equal(refused.stats.get('cluster_manager.cds.update_rejected'), 1);
      assert.equal(refused.stats.get('listener_manager.lds.update_rejected'), 1);
      assert.equal(refused.stats.get('listener_manager.lds.update_success'), 1);

      proxy.reload(config(port, 'renamed'));
      await proxy.waitForLog(/config applied/);
      const applied = await configUpdates(proxy);
      assert.equal(applied.stats.get('cluster_manager.cds.update_success'), 2);
      assert.equal(applied.stats.get('listener_manager.lds.update_success'), 2);
      assert.equal(applied.stats.get('listener_manager.lds.update_rejected'), 1);
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });
}
