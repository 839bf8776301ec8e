/**
 * Envoy's POST /reset_counters: every counter starts again from zero in every process (what an exited
 * worker counted included), as /stats and /stats/prometheus show; gauges and histograms are left as
 * they are, as Envoy leaves them. Also GET /runtime. Real curl against a real proxy.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let up: TestUpstream;
let port: number;

function config(): string {
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  const listener = { ...(httpListener('ingress', port, routes) as Record<string, unknown>), connectionBalanceConfig: { balancer: 'round-robin' } };
  return bootstrap([listener], [staticCluster('up', [up.port])]);
}

async function requests(n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.equal((await curl([`http://127.0.0.1:${port}/`, '-H', 'connection: close'])).status, 200);
}

/** The values of a family's series in /stats/prometheus (summed over its series). */
function total(text: string, series: RegExp): number {
  return [...text.matchAll(series)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function scrape(proxy: RunningProxy): Promise<string> {
  return (await curl([`http://127.0.0.1:${proxy.adminPort}/stats/prometheus`])).body;
}

before(async () => {
  up = await startUpstream('up');
  port = await freePort();
});

after(async () => {
  await up?.close();
});

test('/reset_counters zeroes counters in every process, leaves gauges and histograms, and counting goes on from zero', async () => {
  const proxy = await startProxy(config());
  const admin = `http://127.0.0.1:${proxy.adminPort}`;
  const held = net.connect(port, '127.0.0.1');
  try {
    await new Promise((r) => held.once('connect', r));
    await requests(4);
    let text = await scrape(proxy);
    assert.equal(total(text, /^istio_requests_total\{[^}]*\} (\d+)$/gm), 4);
    assert.equal(total(text, /^bulwark_worker_connections_total\{[^}]*\} (\d+)$/gm), 5);
    assert.equal(total(text, /^bulwark_upstream_connections_total\{[^}]*\} (\d+)$/gm) > 0, true);

    const get = await curl([`${admin}/reset_counters`]);
    assert.equal(get.status, 405);
    assert.equal(get.body, 'Method GET not allowed, POST required.');
    const r = await curl(['-X', 'POST', `${admin}/reset_counters`]);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'OK\n');

    text = await scrape(proxy);
    assert.equal(total(text, /^istio_requests_total\{[^}]*\} (\d+)$/gm), 0, 'a counter the data path increments');
    assert.equal(total(text, /^bulwark_worker_connections_total\{[^}]*\} (\d+)$/gm), 0, 'a counter mirrored from the listeners\' own totals');
    assert.equal(total(text, /^bulwark_upstream_connections_total\{[^}]*\} (\d+)$/gm), 0);
    assert.equal(total(text, /^bulwark_config_reloads_total\{result="accepted"[^}]*\} (\d+)$/gm), 0);
    assert.equal(total(text, /^bulwark_worker_active_connections\{[^}]*\} (\d+)$/gm), 1, 'a gauge: the held connection is still open');
    assert.equal(total(text, /^istio_request_duration_milliseconds_count\{[^}]*\} (\d+)$/gm), 4, 'histograms are not reset (as in Envoy)');

    const stats = (await curl([`${admin}/stats?filter=istio_requests_total`])).body;
    assert.match(stats, /^istio_requests_total\{.*\}: 0$/m, '/stats shows it too');
    // Envoy's own counters restart too, the primary's config update counts among them; its gauges stay.
    const envoy = (await curl([`${admin}/stats?filter=^(cluster\\.up\\.upstream_rq_total|cluster\\.up\\.membership_total|listener_manager\\.lds\\.update_success)$`])).body;
    assert.match(envoy, /^cluster\.up\.upstream_rq_total: 0$/m);
    assert.match(envoy, /^listener_manager\.lds\.update_success: 0$/m);
    assert.match(envoy, /^cluster\.up\.membership_total: 1$/m, 'a gauge');

    await requests(3);
    text = await scrape(proxy);
    assert.equal(total(text, /^istio_requests_total\{[^}]*\} (\d+)$/gm), 3, 'counting goes on from zero');
    assert.equal(total(text, /^bulwark_worker_connections_total\{[^}]*\} (\d+)$/gm), 3);
  } finally {
    held.destroy();
    await proxy.stop();
  }
});

test('/reset_counters also forgets what an exited worker counted', async () => {
  const proxy = await startProxy(config(), { concurrency: 2 });
  const admin = `http://127.0.0.1:${proxy.adminPort}`;
  try {
    await requests(4);
    const workers = async (): Promise<Array<{ pid: number; ready: boolean }>> => (JSON.parse((await curl([`${admin}/bulwark/status`])).body) as { workers: Array<{ pid: number; ready: boolean }> }).workers;
    const victim = (await workers())[0]!.pid;
    // Its counts reach the primary with a report: a scrape now, then the kill.
    assert.equal(total(await scrape(proxy), /^istio_requests_total\{[^}]*\} (\d+)$/gm), 4);
    process.kill(victim, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      const now = await workers();
      if (now.length === 2 && now.every((w) => w.ready && w.pid !== victim)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(total(await scrape(proxy), /^istio_requests_total\{[^}]*\} (\d+)$/gm), 4, 'kept after the worker exited');
    assert.equal((await curl(['-X', 'POST', `${admin}/reset_counters`])).status, 200);
    const text = await scrape(proxy);
    assert.equal(total(text, /^istio_requests_total\{[^}]*\} (\d+)$/gm), 0);
    await requests(2);
    assert.equal(total(await scrape(proxy), /^istio_requests_total\{[^}]*\} (\d+)$/gm), 2);
  } finally {
    await proxy.stop();
  }
});

test('GET /runtime answers Envoy\'s shape with the layers Bulwark has: none', async () => {
  const proxy = await startProxy(config());
  try {
    const r = await curl([`http://127.0.0.1:${proxy.adminPort}/runtime`]);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.body, '{\n "entries": {},\n "layers": []\n}\n');
  } finally {
    await proxy.stop();
  }
});
