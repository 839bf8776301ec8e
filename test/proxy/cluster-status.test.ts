import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeClusterStatuses, renderClustersText, type ClusterStatus, type HostStatus } from '../../src/proxy/admin/cluster-status.js';

function host(port: number, over: Partial<HostStatus> = {}, rq = 0): HostStatus {
  return {
    address: '10.0.0.1',
    port,
    hostname: '',
    weight: 1,
    priority: 0,
    edsHealth: 'UNKNOWN',
    failedActiveHealthCheck: false,
    failedOutlierCheck: false,
    stats: { cx_active: 1, cx_connect_fail: 0, cx_total: 1, rq_active: 0, rq_error: 0, rq_success: rq, rq_timeout: 0, rq_total: rq },
    ...over,
  };
}

function cluster(hosts: HostStatus[]): ClusterStatus {
  return { name: 'c', thresholds: { maxConnections: 1, maxPendingRequests: 2, maxRequests: 3, maxRetries: 4 }, hosts };
}

test('workers\' views merge: numbers add up per host, a flag from any worker stands, hosts only one worker has are kept', () => {
  const merged = mergeClusterStatuses([[cluster([host(80, {}, 3), host(81, { failedActiveHealthCheck: true })])], [cluster([host(80, { failedOutlierCheck: true }, 4), host(82)])]]);
  assert.equal(merged.length, 1);
  const [a, b, c] = merged[0]!.hosts;
  assert.deepEqual([a!.port, b!.port, c!.port], [80, 81, 82]);
  assert.equal(a!.stats.rq_total, 7);
  assert.equal(a!.stats.cx_active, 2);
  assert.equal(a!.failedOutlierCheck, true);
  assert.equal(b!.failedActiveHealthCheck, true);
});

test('merging leaves the workers\' own views unchanged', () => {
  const first = [cluster([host(80, {}, 3)])];
  mergeClusterStatuses([first, [cluster([host(80, {}, 4)])]]);
  assert.equal(first[0]!.hosts[0]!.stats.rq_total, 3);
});

test('health_flags spell each reason a host is not used, as Envoy does', () => {
  const text = renderClustersText([
    cluster([
      host(80),
      host(81, { failedActiveHealthCheck: true, failedOutlierCheck: true }),
      host(82, { edsHealth: 'UNHEALTHY' }),
      host(83, { edsHealth: 'DRAINING' }),
    ]),
  ]);
  assert.match(text, /^c::10\.0\.0\.1:80::health_flags::healthy$/m);
  assert.match(text, /^c::10\.0\.0\.1:81::health_flags::\/failed_active_hc\/failed_outlier_check$/m);
  assert.match(text, /^c::10\.0\.0\.1:82::health_flags::\/failed_eds_health$/m);
  assert.match(text, /^c::10\.0\.0\.1:83::health_flags::\/eds_status_draining$/m);
  assert.match(text, /^c::default_priority::max_pending_requests::2$/m);
});
