/**
 * Envoy's default tag extraction, as Envoy's own tests and its /stats/prometheus name stats: the tag
 * values come out of the dotted name, in Envoy's extractor order, and the rest becomes the metric name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderEnvoyPrometheusText } from '../../src/telemetry/envoy-prometheus-text.js';
import { extractTags, prometheusName } from '../../src/telemetry/envoy-tag-extraction.js';

const cases: Array<[string, string, Array<[string, string]>]> = [
  ['server.state', 'server.state', []],
  ['cluster.ratelimit.upstream_rq_timeout', 'cluster.upstream_rq_timeout', [['envoy.cluster_name', 'ratelimit']]],
  ['cluster.backend.upstream_rq_200', 'cluster.upstream_rq', [['envoy.response_code', '200'], ['envoy.cluster_name', 'backend']]],
  ['cluster.backend.upstream_rq_2xx', 'cluster.upstream_rq_xx', [['envoy.response_code_class', '2'], ['envoy.cluster_name', 'backend']]],
  ['cluster.backend.upstream_rq_completed', 'cluster.upstream_rq_completed', [['envoy.cluster_name', 'backend']]],
  ['cluster.backend.outlier_detection.ejections_active', 'cluster.outlier_detection.ejections_active', [['envoy.cluster_name', 'backend']]],
  ['http.ingress.downstream_rq_5xx', 'http.downstream_rq_xx', [['envoy.response_code_class', '5'], ['envoy.http_conn_manager_prefix', 'ingress']]],
  ['listener.127.0.0.1_3012.downstream_cx_total', 'listener.downstream_cx_total', [['envoy.listener_address', '127.0.0.1_3012']]],
  ['listener.[__1]_8080.downstream_cx_active', 'listener.downstream_cx_active', [['envoy.listener_address', '[__1]_8080']]],
  // Envoy keeps the admin listener's name whole.
  ['listener.admin.downstream_cx_total', 'listener.admin.downstream_cx_total', []],
  // Only the number and its dot are cut: Envoy's envoy_server_worker_watchdog_miss{envoy_worker_id="0"}.
  ['server.worker_0.watchdog_miss', 'server.worker_watchdog_miss', [['envoy.worker_id', '0']]],
  // A cluster name with dots gives its first word to the tag; the rest stays in the name, as with Envoy's defaults.
  ['cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total', 'cluster.default.svc.cluster.local.upstream_rq_total', [['envoy.cluster_name', 'outbound|9080||reviews']]],
];

for (const [name, extracted, tags] of cases) {
  test(`${name} → ${extracted} with ${tags.map(([t, v]) => `${t}=${v}`).join(', ') || 'no tags'}`, () => {
    assert.deepEqual(extractTags(name), { name: extracted, tags });
  });
}

test('a tag-extracted name becomes envoy_ and the name with every character but [a-zA-Z0-9_] as _', () => {
  assert.equal(prometheusName('cluster.upstream_rq'), 'envoy_cluster_upstream_rq');
  assert.equal(prometheusName('cluster.default.svc.cluster.local.upstream_rq_total'), 'envoy_cluster_default_svc_cluster_local_upstream_rq_total');
});

test('Envoy stats render as Prometheus families sorted by name, a stat without tags with {}, label values escaped', () => {
  const text = renderEnvoyPrometheusText([
    { name: 'server.state', type: 'gauge', value: 0, set: true },
    { name: 'cluster.b.upstream_rq_503', type: 'counter', value: 1 },
    { name: 'cluster.a"x.upstream_rq_200', type: 'counter', value: 3 },
  ]);
  assert.equal(
    text,
    [
      '# TYPE envoy_cluster_upstream_rq counter',
      'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="a\\"x"} 3',
      'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="b"} 1',
      '# TYPE envoy_server_state gauge',
      'envoy_server_state{} 0',
      '',
    ].join('\n'),
  );
});
