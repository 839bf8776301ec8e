/**
 * Envoy's per-cluster, per-connection-manager and per-listener stats after real traffic (curl as the
 * client), on /stats by their dotted names and on /stats/prometheus as Envoy's default tag
 * extraction names them, added up over 1 and 2 workers: successes, an upstream 503, a retried 503, a
 * connect failure (also to a gRPC client), and a route timeout.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let up: TestUpstream;
let flakyCalls = 0;

before(async () => {
  up = await startUpstream('backend', (req, res) => {
    if (req.url === '/fail') res.writeHead(503).end('down');
    // The first try fails, the retry succeeds.
    else if (req.url === '/flaky') res.writeHead(flakyCalls++ % 2 === 0 ? 503 : 200).end('flaky');
    else if (req.url === '/slow') setTimeout(() => res.end('late'), 1_000);
    else res.end('ok');
  });
});
after(async () => {
  await up?.close();
});

/** The text /stats as name → value. */
async function statsText(proxy: RunningProxy, query = ''): Promise<Map<string, number>> {
  const r = await proxy.get(`/stats${query}`);
  assert.equal(r.status, 200);
  const out = new Map<string, number>();
  for (const line of r.body.split('\n')) {
    const at = line.lastIndexOf(': ');
    if (at > 0) out.set(line.slice(0, at), Number(line.slice(at + 2)));
  }
  return out;
}

for (const concurrency of [1, 2]) {
  test(`cluster, connection manager and listener stats after traffic (${concurrency} worker(s)): text names, Prometheus names and labels`, async () => {
    const port = await freePort();
    const closedPort = await freePort();
    flakyCalls = 0;
    const routes = routeConfig([
      { match: { prefix: '/flaky' }, route: { cluster: 'backend', retryPolicy: { retryOn: '5xx', numRetries: 1, retryBackOff: { baseInterval: '0.005s' } } } },
      { match: { prefix: '/slow' }, route: { cluster: 'backend', timeout: '0.2s' } },
      { match: { prefix: '/dead' }, route: { cluster: 'dead' } },
      { match: { prefix: '/' }, route: { cluster: 'backend' } },
    ]);
    const config = bootstrap([httpListener('ingress', port, routes)], [staticCluster('backend', [up.port], { outlierDetection: { consecutive5xx: 100 } }), staticCluster('dead', [closedPort])]);
    const proxy = await startProxy(config, { concurrency });
    try {
      for (const path of ['/a', '/b', '/c', '/fail', '/flaky', '/dead', '/slow']) await curl([`http://127.0.0.1:${port}${path}`]);
      // A gRPC client gets the router's 503 as a trailers-only :status 200; the cluster is charged the 503, as in Envoy.
      const grpc = await curl(['--http2-prior-knowledge', '-H', 'content-type: application/grpc', '-d', '', `http://127.0.0.1:${port}/dead/grpc`]);
      assert.equal(grpc.status, 200);
      assert.equal(grpc.headers['grpc-status'], '14');
      // Connections close after curl leaves; the gauges read them once they have.
      let stats = await statsText(proxy);
      for (let i = 0; i < 40 && stats.get('http.ingress.downstream_cx_active') !== 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        stats = await statsText(proxy);
      }
      const expected: Record<string, number> = {
        // 3 successes, /fail, /flaky's two tries, /slow.
        'cluster.backend.upstream_rq_total': 7,
        'cluster.backend.upstream_rq_200': 4,
        'cluster.backend.upstream_rq_503': 1,
        'cluster.backend.upstream_rq_504': 1,
        'cluster.backend.upstream_rq_2xx': 4,
        'cluster.backend.upstream_rq_5xx': 2,
        'cluster.backend.upstream_rq_completed': 6,
        'cluster.backend.upstream_rq_retry': 1,
        'cluster.backend.upstream_rq_timeout': 1,
        'cluster.backend.upstream_rq_active': 0,
        'cluster.backend.upstream_rq_pending_active': 0,
        'cluster.backend.membership_total': 1,
        'cluster.backend.membership_healthy': 1,
        'cluster.backend.outlier_detection.ejections_active': 0,
        'cluster.backend.upstream_cx_connect_fail': 0,
        'cluster.dead.upstream_cx_connect_fail': 2,
        'cluster.dead.upstream_rq_503': 2,
        'cluster.dead.upstream_rq_total': 0,
        'http.ingress.downstream_rq_total': 8,
        'http.ingress.downstream_rq_2xx': 5,
        'http.ingress.downstream_rq_5xx': 3,
        'http.ingress.downstream_rq_4xx': 0,
        'http.ingress.downstream_rq_completed': 8,
        'http.ingress.downstream_rq_active': 0,
        'http.ingress.downstream_cx_total': 8,
        'http.ingress.downstream_cx_active': 0,
        [`listener.127.0.0.1_${port}.downstream_cx_total`]: 8,
        [`listener.127.0.0.1_${port}.downstream_cx_active`]: 0,
        'server.total_connections': 0,
        'cluster_manager.active_clusters': 2,
        'listener_manager.total_listeners_active': 1,
        'server.concurrency': concurrency,
      };
      for (const [name, value] of Object.entries(expected)) assert.equal(stats.get(name), value, name);
      assert.ok(stats.get('cluster.backend.upstream_cx_total')! >= 1);
      assert.equal(stats.has('cluster.dead.outlier_detection.ejections_active'), false, 'only a cluster with outlier detection has its stats');
      const names = [...stats.keys()];
      assert.deepEqual(names, [...names].sort(), 'sorted by name, as Envoy lists them');

      const json = JSON.parse((await proxy.get('/stats?format=json&filter=^cluster\\.backend\\.upstream_rq_2')).body) as { stats: Array<{ name: string; value: number }> };
      assert.deepEqual(json.stats, [
        { name: 'cluster.backend.upstream_rq_200', value: 4 },
        { name: 'cluster.backend.upstream_rq_2xx', value: 4 },
      ]);
      const used = await statsText(proxy, '?usedonly&filter=^cluster\\.dead\\.');
      assert.deepEqual([...used.keys()], ['cluster.dead.membership_healthy', 'cluster.dead.membership_total', 'cluster.dead.upstream_cx_connect_fail', 'cluster.dead.upstream_cx_total', 'cluster.dead.upstream_rq_503', 'cluster.dead.upstream_rq_5xx', 'cluster.dead.upstream_rq_completed']);

      const prom = (await proxy.get('/stats/prometheus')).body;
      for (const line of [
        '# TYPE envoy_cluster_upstream_rq_total counter',
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"} 7',
        '# TYPE envoy_cluster_upstream_rq counter',
        'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="backend"} 4',
        'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="dead"} 2',
        'envoy_cluster_upstream_rq_xx{envoy_response_code_class="5",envoy_cluster_name="backend"} 2',
        'envoy_cluster_upstream_rq_retry{envoy_cluster_name="backend"} 1',
        'envoy_cluster_membership_healthy{envoy_cluster_name="backend"} 1',
        'envoy_cluster_outlier_detection_ejections_active{envoy_cluster_name="backend"} 0',
        '# TYPE envoy_cluster_upstream_cx_active gauge',
        'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress"} 5',
        'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="ingress"} 8',
        `envoy_listener_downstream_cx_total{envoy_listener_address="127.0.0.1_${port}"} 8`,
        'envoy_server_state{} 0',
        'envoy_listener_manager_workers_started{} 1',
        'envoy_cluster_manager_cds_update_success{} 1',
      ]) {
        assert.ok(prom.split('\n').includes(line), `missing: ${line}`);
      }
      assert.match(prom, /^istio_requests_total\{/m, 'beside the existing families');
      const filtered = (await proxy.get('/stats/prometheus?filter=^http\\.ingress\\.downstream_rq_5xx$')).body;
      assert.equal(filtered.split('\n').filter((l) => l.startsWith('envoy_')).join('\n'), 'envoy_http_downstream_rq_xx{envoy_response_code_class="5",envoy_http_conn_manager_prefix="ingress"} 3');
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });
}

test('a reload that replaces a listener keeps counting its connections on, in listener.<address>.downstream_cx_total and the worker totals, as Envoy keeps a listener\'s stats', async () => {
  const port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'backend' } }]);
  const config = (chain: Record<string, unknown>): string => bootstrap([httpListener('ingress', port, routes, {}, chain)], [staticCluster('backend', [up.port])]);
  const proxy = await startProxy(config({}), { concurrency: 1 });
  try {
    for (const path of ['/1', '/2']) assert.equal((await curl([`http://127.0.0.1:${port}${path}`])).status, 200);
    // A filter chain match is part of the listener's shape: the reload builds a new listener runtime.
    proxy.reload(config({ filterChainMatch: { transportProtocol: 'raw_buffer' } }));
    await proxy.waitForLog(/config applied/);
    for (const path of ['/3', '/4', '/5']) assert.equal((await curl([`http://127.0.0.1:${port}${path}`])).status, 200);
    const stats = await statsText(proxy);
    assert.equal(stats.get(`listener.127.0.0.1_${port}.downstream_cx_total`), 5);
    assert.equal(stats.get('http.ingress.downstream_cx_total'), 5);
    assert.equal(stats.get('bulwark_worker_connections_total{worker="0"}'), 5);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

for (const concurrency of [1, 2]) {
  test(`a request in flight shows in upstream_rq_active and downstream_rq_active; one refused by maxRequests in upstream_rq_pending_overflow (${concurrency} worker(s))`, async () => {
    const port = await freePort();
    const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'narrow' } }]);
    const config = bootstrap([httpListener('ingress', port, routes)], [staticCluster('narrow', [up.port], { circuitBreakers: { thresholds: [{ maxRequests: 1 }] } })]);
    const proxy = await startProxy(config, { concurrency });
    try {
      const slow = curl([`http://127.0.0.1:${port}/slow`]);
      let during = await statsText(proxy);
      for (let i = 0; i < 40 && during.get('cluster.narrow.upstream_rq_active') !== 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
        during = await statsText(proxy);
      }
      assert.equal(during.get('cluster.narrow.upstream_rq_active'), 1);
      assert.equal(during.get('http.ingress.downstream_rq_active'), 1);
      const refused = await curl([`http://127.0.0.1:${port}/refused`]);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['x-envoy-overloaded'], 'true');
      assert.equal((await slow).status, 200);
      const after = await statsText(proxy);
      assert.equal(after.get('cluster.narrow.upstream_rq_pending_overflow'), 1);
      assert.equal(after.get('cluster.narrow.upstream_rq_503'), 1);
      assert.equal(after.get('cluster.narrow.upstream_rq_200'), 1);
      assert.equal(after.get('cluster.narrow.upstream_rq_active'), 0);
      assert.equal(after.get('http.ingress.downstream_rq_active'), 0);
      const prom = (await proxy.get('/stats/prometheus?filter=pending_overflow')).body;
      assert.ok(prom.split('\n').includes('envoy_cluster_upstream_rq_pending_overflow{envoy_cluster_name="narrow"} 1'), prom);
    } finally {
      assert.equal(await proxy.stop(), 0);
    }
  });
}
