import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ISTIO_DEFAULT_BUCKETS, ISTIO_HTTP_LABELS, ISTIO_TCP_LABELS, IstioMetrics, type RequestStreamLabels } from '../../src/telemetry/istio-metrics.js';
import { MetricsRegistry } from '../../src/telemetry/metrics-registry.js';
import { mergeSnapshots } from '../../src/telemetry/prometheus-text.js';
import { ProxyMetrics } from '../../src/telemetry/proxy-metrics.js';
import { parsePrometheusText, type Sample } from './prometheus-parser.js';

const productpage = {
  workload: 'productpage-v1',
  namespace: 'bookinfo',
  principal: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage',
  app: 'productpage',
  version: 'v1',
  canonicalService: 'productpage',
  canonicalRevision: 'v1',
  cluster: 'Kubernetes',
};
const reviews = { ...productpage, workload: 'reviews-v1', principal: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews', app: 'reviews', canonicalService: 'reviews' };
const toReviews: RequestStreamLabels = {
  direction: 'outbound',
  peer: reviews,
  destinationService: 'reviews.bookinfo.svc.cluster.local',
  destinationServiceName: 'reviews',
  destinationServiceNamespace: 'bookinfo',
  requestProtocol: 'http',
  connectionSecurityPolicy: 'unknown',
};

function samplesOf(registry: MetricsRegistry, family: string): Sample[] {
  const parsed = parsePrometheusText(registry.render()).get(family);
  assert.ok(parsed, `family ${family} is exported`);
  return parsed.samples;
}

describe('Istio standard metrics', () => {
  test('the eight Istio families are exported with Istio names and types', () => {
    const registry = new MetricsRegistry();
    new IstioMetrics(registry, productpage);
    const families = parsePrometheusText(registry.render());
    assert.deepEqual(
      [...families.values()].map((f) => [f.name, f.type]),
      [
        ['istio_requests_total', 'counter'],
        ['istio_request_duration_milliseconds', 'histogram'],
        ['istio_request_bytes', 'histogram'],
        ['istio_response_bytes', 'histogram'],
        ['istio_tcp_sent_bytes_total', 'counter'],
        ['istio_tcp_received_bytes_total', 'counter'],
        ['istio_tcp_connections_opened_total', 'counter'],
        ['istio_tcp_connections_closed_total', 'counter'],
      ],
    );
  });

  test('an outbound request is reported by the source, with both workloads and the outcome as labels', () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, productpage);
    const stream = m.requestStream('route-reviews|outbound|reviews', toReviews);
    stream.record(200, 12, 0, 512);
    stream.record(200, 3, 10, 100);
    stream.record(503, 1, 0, 19, 'UH');
    const requests = samplesOf(registry, 'istio_requests_total');
    assert.equal(requests.length, 2);
    const ok = requests.find((s) => s.labels['response_code'] === '200')!;
    assert.equal(ok.value, 2);
    assert.deepEqual(Object.keys(ok.labels), [...ISTIO_HTTP_LABELS]);
    assert.deepEqual(ok.labels, {
      reporter: 'source',
      source_workload: 'productpage-v1',
      source_workload_namespace: 'bookinfo',
      source_principal: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage',
      source_app: 'productpage',
      source_version: 'v1',
      source_canonical_service: 'productpage',
      source_canonical_revision: 'v1',
      source_cluster: 'Kubernetes',
      destination_workload: 'reviews-v1',
      destination_workload_namespace: 'bookinfo',
      destination_principal: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews',
      destination_app: 'reviews',
      destination_version: 'v1',
      destination_service: 'reviews.bookinfo.svc.cluster.local',
      destination_service_name: 'reviews',
      destination_service_namespace: 'bookinfo',
      destination_canonical_service: 'reviews',
      destination_canonical_revision: 'v1',
      destination_cluster: 'Kubernetes',
      request_protocol: 'http',
      response_code: '200',
      grpc_response_status: '',
      response_flags: '-',
      connection_security_policy: 'unknown',
    });
    const failed = requests.find((s) => s.labels['response_code'] === '503')!;
    assert.equal(failed.labels['response_flags'], 'UH');
    assert.equal(failed.value, 1);
  });

  test('an inbound request is reported by the destination; unknown peer fields say "unknown"', () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, reviews);
    m.requestStream('inbound|9080', { ...toReviews, direction: 'inbound', peer: { principal: productpage.principal }, connectionSecurityPolicy: 'mutual_tls' }).record(200, 1, 0, 0);
    const [s] = samplesOf(registry, 'istio_requests_total');
    assert.equal(s!.labels['reporter'], 'destination');
    assert.equal(s!.labels['source_principal'], productpage.principal);
    assert.equal(s!.labels['source_workload'], 'unknown');
    assert.equal(s!.labels['destination_workload'], 'reviews-v1');
    assert.equal(s!.labels['connection_security_policy'], 'mutual_tls');
  });

  test('duration and sizes use Envoy default buckets, which Istio keeps', () => {
    const registry = new MetricsRegistry();
    const stream = new IstioMetrics(registry, productpage).requestStream('k', toReviews);
    stream.record(200, 7, 300, 3_000_000);
    for (const family of ['istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes']) {
      const les = samplesOf(registry, family)
        .filter((s) => s.name === `${family}_bucket`)
        .map((s) => s.labels['le']);
      assert.deepEqual(les, [...ISTIO_DEFAULT_BUCKETS.map(String), '+Inf'], family);
    }
    const duration = samplesOf(registry, 'istio_request_duration_milliseconds');
    assert.equal(duration.find((s) => s.name.endsWith('_bucket') && s.labels['le'] === '5')!.value, 0);
    assert.equal(duration.find((s) => s.name.endsWith('_bucket') && s.labels['le'] === '10')!.value, 1);
    assert.equal(duration.find((s) => s.name.endsWith('_sum'))!.value, 7);
    assert.equal(samplesOf(registry, 'istio_response_bytes').find((s) => s.name.endsWith('_sum'))!.value, 3_000_000);
  });

  test('gRPC requests carry grpc_response_status and keep statuses apart', () => {
    const registry = new MetricsRegistry();
    const stream = new IstioMetrics(registry, productpage).requestStream('grpc', { ...toReviews, requestProtocol: 'grpc' });
    stream.record(200, 1, 5, 5, '-', 0);
    stream.record(200, 1, 5, 5, '-', 14);
    stream.record(200, 1, 5, 5, '-', 14);
    const requests = samplesOf(registry, 'istio_requests_total');
    assert.deepEqual(
      requests.map((s) => [s.labels['request_protocol'], s.labels['grpc_response_status'], s.value]),
      [
        ['grpc', '0', 1],
        ['grpc', '14', 2],
      ],
    );
  });

  test('the same key returns the same stream, so the caller may look it up instead of keeping it', () => {
    const m = new IstioMetrics(new MetricsRegistry(), productpage);
    assert.equal(m.requestStream('a', toReviews), m.requestStream('a', toReviews));
    assert.equal(m.tcpStream('a', toReviews), m.tcpStream('a', toReviews));
  });

  test('TCP connections count opens, closes and bytes, with request_protocol="tcp" and no response code', () => {
    const registry = new MetricsRegistry();
    const tcp = new IstioMetrics(registry, productpage).tcpStream('tcp|db', { ...toReviews, destinationService: 'db.bookinfo.svc.cluster.local' });
    tcp.opened();
    tcp.opened();
    tcp.addBytes(100, 2000);
    tcp.addBytes(5, 7);
    tcp.closed();
    tcp.closed('UF');
    const opened = samplesOf(registry, 'istio_tcp_connections_opened_total');
    assert.deepEqual(Object.keys(opened[0]!.labels), [...ISTIO_TCP_LABELS]);
    assert.equal(opened[0]!.labels['request_protocol'], 'tcp');
    assert.equal(opened[0]!.value, 2);
    assert.equal(samplesOf(registry, 'istio_tcp_received_bytes_total')[0]!.value, 105);
    assert.equal(samplesOf(registry, 'istio_tcp_sent_bytes_total')[0]!.value, 2007);
    assert.deepEqual(
      samplesOf(registry, 'istio_tcp_connections_closed_total').map((s) => [s.labels['response_flags'], s.value]),
      [
        ['-', 1],
        ['UF', 1],
      ],
    );
  });
});

describe('proxy health metrics', () => {
  test('per-cluster upstream metrics and circuit-breaker overflows are exported by cluster', () => {
    const registry = new MetricsRegistry();
    const proxy = new ProxyMetrics(registry);
    const backend = proxy.cluster('backend');
    assert.equal(proxy.cluster('backend'), backend);
    backend.connectionsActive.inc();
    backend.connectionsActive.inc();
    backend.connectionsTotal.inc(2);
    backend.pendingRequests.inc();
    backend.retries.inc();
    backend.overflows.pending_requests.inc();
    backend.outlierEjections.inc();
    backend.outlierEjectedHosts.set(1);
    const text = registry.render();
    const families = parsePrometheusText(text);
    const value = (family: string, labels: Record<string, string> = {}): number | undefined =>
      families.get(family)!.samples.find((s) => s.labels['cluster'] === 'backend' && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(value('bulwark_upstream_connections_active'), 2);
    assert.equal(value('bulwark_upstream_connections_total'), 2);
    assert.equal(value('bulwark_upstream_pending_requests'), 1);
    assert.equal(value('bulwark_upstream_retries_total'), 1);
    assert.equal(value('bulwark_upstream_overflows_total', { resource: 'pending_requests' }), 1);
    assert.equal(value('bulwark_upstream_overflows_total', { resource: 'connections' }), 0);
    assert.equal(value('bulwark_outlier_ejections_total'), 1);
    assert.equal(value('bulwark_outlier_ejected_hosts'), 1);
  });

  test('worker gauges keep one series per worker in the merged page; cluster counters sum', () => {
    const workers = ['0', '1'].map((id) => {
      const registry = new MetricsRegistry({ worker: id });
      const proxy = new ProxyMetrics(registry);
      proxy.downstreamConnectionsActive.set(id === '0' ? 3 : 5);
      proxy.keydAvailable.set(1);
      proxy.configReloadsAccepted.inc();
      proxy.cluster('backend').connectionsTotal.inc(10);
      return JSON.parse(JSON.stringify(registry.snapshot()));
    });
    const families = parsePrometheusText(mergeSnapshots(workers));
    assert.deepEqual(
      families.get('bulwark_worker_active_connections')!.samples.map((s) => [s.labels['worker'], s.value]),
      [
        ['0', 3],
        ['1', 5],
      ],
    );
    assert.equal(families.get('bulwark_keyd_available')!.samples.length, 2);
    assert.equal(families.get('bulwark_config_reloads_total')!.samples.find((s) => s.labels['result'] === 'accepted' && s.labels['worker'] === '1')!.value, 1);
    assert.equal(families.get('bulwark_upstream_connections_total')!.samples[0]!.value, 20);
  });
});
