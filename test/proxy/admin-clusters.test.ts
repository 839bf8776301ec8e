import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

// Admin /clusters (Envoy's text and JSON forms), served by the primary from every worker's view.
let good: TestUpstream;
let failing: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  good = await startUpstream('good');
  failing = await startUpstream('failing', (_req, res) => {
    res.writeHead(503);
    res.end('down');
  });
  port = await freePort();
  const routes = routeConfig([{ name: 'all', match: { prefix: '/' }, route: { cluster: 'pair' } }]);
  proxy = await startProxy(
    bootstrap(
      [httpListener('ingress', port, routes)],
      [
        staticCluster('pair', [good.port, failing.port], {
          lbPolicy: 'ROUND_ROBIN',
          circuitBreakers: { thresholds: [{ maxConnections: 77, maxRetries: 5 }] },
          // Ejected after 2 failures in a row, for long enough to read it back.
          outlierDetection: { consecutive5xx: 2, baseEjectionTime: '60s', maxEjectionPercent: 50, interval: '100ms' },
        }),
      ],
    ),
    { concurrency: 2 },
  );
});

after(async () => {
  await proxy?.stop();
  await good?.close();
  await failing?.close();
});

/** The value of one `cluster::host::name::value` line, as a number when it is one. */
function hostStat(text: string, cluster: string, host: string, name: string): string | undefined {
  const prefix = `${cluster}::${host}::${name}::`;
  return text.split('\n').find((l) => l.startsWith(prefix))?.slice(prefix.length);
}

test('/clusters lists each host with counters summed over the workers and its health flags', async () => {
  // Separate connections, so both workers take requests.
  for (let i = 0; i < 12; i++) await curl([`http://127.0.0.1:${port}/r${i}`]);
  const { status, body } = await proxy.get('/clusters');
  assert.equal(status, 200);
  const goodHost = `127.0.0.1:${good.port}`;
  const failingHost = `127.0.0.1:${failing.port}`;
  assert.match(body, /^pair::default_priority::max_connections::77$/m);
  assert.match(body, /^pair::default_priority::max_retries::5$/m);
  const goodTotal = Number(hostStat(body, 'pair', goodHost, 'rq_total'));
  const failingTotal = Number(hostStat(body, 'pair', failingHost, 'rq_total'));
  assert.equal(goodTotal + failingTotal, 12, body);
  assert.equal(hostStat(body, 'pair', goodHost, 'rq_success'), String(goodTotal));
  assert.equal(hostStat(body, 'pair', failingHost, 'rq_error'), String(failingTotal));
  assert.equal(hostStat(body, 'pair', goodHost, 'health_flags'), 'healthy');
  // Each worker ejects the failing host after its second 503; the merged view flags it.
  assert.equal(hostStat(body, 'pair', failingHost, 'health_flags'), '/failed_outlier_check');
  assert.ok(Number(hostStat(body, 'pair', goodHost, 'cx_total')) >= 1);
  assert.equal(hostStat(body, 'pair', goodHost, 'rq_active'), '0');
});

test('/clusters?format=json gives Envoy\'s ClusterStatuses shape', async () => {
  const { status, body } = await proxy.get('/clusters?format=json');
  assert.equal(status, 200);
  const json = JSON.parse(body) as {
    cluster_statuses: Array<{
      name: string;
      circuit_breakers: { thresholds: Array<{ max_connections: number }> };
      host_statuses: Array<{
        address: { socket_address: { address: string; port_value: number } };
        stats: Array<{ name: string; value: string; type?: string }>;
        health_status: { eds_health_status: string; failed_outlier_check?: boolean };
        weight: number;
      }>;
    }>;
  };
  const pair = json.cluster_statuses.find((c) => c.name === 'pair');
  assert.ok(pair, body);
  assert.equal(pair.circuit_breakers.thresholds[0]!.max_connections, 77);
  const failingHost = pair.host_statuses.find((h) => h.address.socket_address.port_value === failing.port);
  assert.ok(failingHost);
  assert.equal(failingHost.address.socket_address.address, '127.0.0.1');
  assert.equal(failingHost.health_status.eds_health_status, 'HEALTHY');
  assert.equal(failingHost.health_status.failed_outlier_check, true);
  assert.equal(failingHost.weight, 1);
  const rqTotal = failingHost.stats.find((s) => s.name === 'rq_total');
  assert.ok(rqTotal && /^\d+$/.test(rqTotal.value) && rqTotal.type === undefined);
  assert.equal(failingHost.stats.find((s) => s.name === 'rq_active')?.type, 'GAUGE');
  const goodHost = pair.host_statuses.find((h) => h.address.socket_address.port_value === good.port);
  assert.equal(goodHost?.health_status.failed_outlier_check, undefined);
});
