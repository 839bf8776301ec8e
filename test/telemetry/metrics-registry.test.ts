import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricsError } from '../../src/telemetry/metric-family.js';
import { MetricsRegistry } from '../../src/telemetry/metrics-registry.js';
import { MetricsMergeError, type MetricsSnapshot } from '../../src/telemetry/metrics-snapshot.js';
import { escapeLabelValue, mergeSnapshots } from '../../src/telemetry/prometheus-text.js';
import { parsePrometheusText, type Sample } from './prometheus-parser.js';

function find(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** What a worker sends over IPC: the snapshot after a JSON round trip. */
function overIpc(registry: MetricsRegistry): MetricsSnapshot {
  return JSON.parse(JSON.stringify(registry.snapshot())) as MetricsSnapshot;
}

describe('counters and gauges', () => {
  test('a bound counter adds up and is exported with its labels', () => {
    const registry = new MetricsRegistry();
    const family = registry.counter('bulwark_test_requests_total', 'Requests seen.', ['route', 'code_class']);
    const ok = family.bind(['r1', '2xx']);
    ok.inc();
    ok.inc(4);
    family.bind(['r1', '5xx']).inc();
    const families = parsePrometheusText(registry.render());
    const parsed = families.get('bulwark_test_requests_total')!;
    assert.equal(parsed.type, 'counter');
    assert.equal(parsed.help, 'Requests seen.');
    assert.equal(find(parsed.samples, 'bulwark_test_requests_total', { route: 'r1', code_class: '2xx' }), 5);
    assert.equal(find(parsed.samples, 'bulwark_test_requests_total', { route: 'r1', code_class: '5xx' }), 1);
  });

  test('binding the same label values twice returns the same child', () => {
    const family = new MetricsRegistry().counter('c_total', 'h', ['a']);
    assert.equal(family.bind(['x']), family.bind(['x']));
    assert.notEqual(family.bind(['x']), family.bind(['y']));
  });

  test('a counter ignores negative increments', () => {
    const c = new MetricsRegistry().counter('c_total', 'h').bind();
    c.inc(3);
    c.inc(-2);
    assert.equal(c.value, 3);
  });

  test('a gauge goes up and down and can be set', () => {
    const registry = new MetricsRegistry();
    const g = registry.gauge('bulwark_test_active', 'Active things.', ['cluster']).bind(['c1']);
    g.inc();
    g.inc();
    g.dec();
    assert.equal(g.value, 1);
    g.set(7);
    const parsed = parsePrometheusText(registry.render()).get('bulwark_test_active')!;
    assert.equal(parsed.type, 'gauge');
    assert.equal(find(parsed.samples, 'bulwark_test_active', { cluster: 'c1' }), 7);
  });

  test('a family without labels prints a bare sample line', () => {
    const registry = new MetricsRegistry();
    registry.counter('bulwark_test_reloads_total', 'Reloads.').bind().inc(2);
    assert.match(registry.render(), /^bulwark_test_reloads_total 2$/m);
  });

  test('label values are escaped so that the output parses back to the original value', () => {
    const registry = new MetricsRegistry();
    const nasty = 'a"b\\c\nd}{,=';
    registry.counter('c_total', 'help with \\ and\nnewline', ['v']).bind([nasty]).inc();
    const text = registry.render();
    assert.ok(text.includes('v="a\\"b\\\\c\\nd}{,="'), text);
    assert.ok(text.includes('# HELP c_total help with \\\\ and\\nnewline\n'), text);
    const parsed = parsePrometheusText(text).get('c_total')!;
    assert.equal(parsed.samples[0]!.labels['v'], nasty);
    assert.equal(parsed.help, 'help with \\ and\nnewline');
    assert.equal(escapeLabelValue('plain'), 'plain');
  });
});

describe('histograms', () => {
  test('observations land in upper-inclusive buckets; _bucket is cumulative, +Inf equals _count', () => {
    const registry = new MetricsRegistry();
    const h = registry.histogram('bulwark_test_latency_ms', 'Latency.', ['route'], [1, 5, 10]).bind(['r']);
    for (const v of [0, 1, 1.5, 5, 9.99, 10, 10.01, 1000]) h.observe(v);
    const samples = parsePrometheusText(registry.render()).get('bulwark_test_latency_ms')!.samples;
    const bucket = (le: string): number | undefined => find(samples, 'bulwark_test_latency_ms_bucket', { route: 'r', le });
    assert.equal(bucket('1'), 2);
    assert.equal(bucket('5'), 4);
    assert.equal(bucket('10'), 6);
    assert.equal(bucket('+Inf'), 8);
    assert.equal(find(samples, 'bulwark_test_latency_ms_count', { route: 'r' }), 8);
    assert.equal(find(samples, 'bulwark_test_latency_ms_sum', { route: 'r' }), 0 + 1 + 1.5 + 5 + 9.99 + 10 + 10.01 + 1000);
  });

  test('the bucket found by binary search matches a linear scan for every value', () => {
    const bounds = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
    const h = new MetricsRegistry().histogram('h', 'h', [], bounds).bind();
    const expected = new Array<number>(bounds.length + 1).fill(0);
    for (let i = 0; i < 5000; i++) {
      const v = i % 7 === 0 ? bounds[i % bounds.length]! : Math.random() * 4_000_000;
      h.observe(v);
      let slot = bounds.findIndex((b) => v <= b);
      if (slot === -1) slot = bounds.length;
      expected[slot]!++;
    }
    assert.deepEqual(Array.from(h.counts), expected);
  });

  test('NaN observations are ignored, so the sum stays a number', () => {
    const h = new MetricsRegistry().histogram('h', 'h', [], [1]).bind();
    h.observe(NaN);
    h.observe(2);
    assert.equal(h.count, 1);
    assert.equal(h.sum, 2);
  });

  test('bucket bounds must be finite and strictly ascending', () => {
    const registry = new MetricsRegistry();
    assert.throws(() => registry.histogram('h1', 'h', [], [5, 1]), MetricsError);
    assert.throws(() => registry.histogram('h2', 'h', [], [1, Infinity]), MetricsError);
    assert.throws(() => registry.histogram('h3', 'h', [], []), MetricsError);
  });
});

describe('registration rules', () => {
  test('names and labels must be valid Prometheus names; le and duplicates are refused', () => {
    const registry = new MetricsRegistry();
    assert.throws(() => registry.counter('bad-name', 'h'), MetricsError);
    assert.throws(() => registry.counter('ok_total', 'h', ['bad-label']), MetricsError);
    assert.throws(() => registry.counter('ok2_total', 'h', ['__reserved']), MetricsError);
    assert.throws(() => registry.counter('ok3_total', 'h', ['a', 'a']), MetricsError);
    assert.throws(() => registry.histogram('h', 'h', ['le'], [1]), MetricsError);
    assert.throws(() => registry.gauge('g', 'h', ['worker'], { merge: 'per-worker' }), MetricsError);
  });

  test('registering a name again returns the same family, or fails if the shape differs', () => {
    const registry = new MetricsRegistry();
    const a = registry.counter('x_total', 'h', ['a']);
    assert.equal(registry.counter('x_total', 'h', ['a']), a);
    assert.throws(() => registry.counter('x_total', 'h', ['b']), MetricsError);
    assert.throws(() => registry.gauge('x_total', 'h', ['a']), MetricsError);
  });

  test('binding the wrong number of label values fails', () => {
    const family = new MetricsRegistry().counter('x_total', 'h', ['a', 'b']);
    assert.throws(() => family.bind(['only-one']), MetricsError);
  });
});

describe('snapshots merged across workers', () => {
  function worker(id: string, requests: number, latencies: number[], active: number): MetricsRegistry {
    const registry = new MetricsRegistry({ worker: id });
    registry.counter('bulwark_test_requests_total', 'Requests.', ['cluster']).bind(['backend']).inc(requests);
    const h = registry.histogram('bulwark_test_latency_ms', 'Latency.', ['cluster'], [1, 10]).bind(['backend']);
    for (const v of latencies) h.observe(v);
    registry.gauge('bulwark_test_pending', 'Pending.', ['cluster']).bind(['backend']).set(active);
    registry.gauge('bulwark_worker_active_connections', 'Per worker.', [], { merge: 'per-worker' }).bind().set(active * 10);
    return registry;
  }

  test('counters and histograms sum; summed gauges add up; per-worker gauges keep a worker label', () => {
    const text = mergeSnapshots([overIpc(worker('0', 3, [0.5, 20], 2)), overIpc(worker('1', 4, [5], 1))]);
    const families = parsePrometheusText(text);
    assert.equal(find(families.get('bulwark_test_requests_total')!.samples, 'bulwark_test_requests_total', { cluster: 'backend' }), 7);
    const latency = families.get('bulwark_test_latency_ms')!.samples;
    assert.equal(find(latency, 'bulwark_test_latency_ms_bucket', { le: '1' }), 1);
    assert.equal(find(latency, 'bulwark_test_latency_ms_bucket', { le: '10' }), 2);
    assert.equal(find(latency, 'bulwark_test_latency_ms_bucket', { le: '+Inf' }), 3);
    assert.equal(find(latency, 'bulwark_test_latency_ms_sum', {}), 25.5);
    assert.equal(find(families.get('bulwark_test_pending')!.samples, 'bulwark_test_pending', {}), 3);
    const perWorker = families.get('bulwark_worker_active_connections')!.samples;
    assert.deepEqual(
      perWorker.map((s) => [s.labels['worker'], s.value]),
      [
        ['0', 20],
        ['1', 10],
      ],
    );
  });

  test('a gauge merged by max keeps the largest worker value (a shared state every worker reports)', () => {
    const make = (id: string, v: number): MetricsRegistry => {
      const r = new MetricsRegistry({ worker: id });
      r.gauge('ejected_hosts', 'h', ['cluster'], { merge: 'max' }).bind(['c']).set(v);
      return r;
    };
    const samples = parsePrometheusText(mergeSnapshots([overIpc(make('0', 1)), overIpc(make('1', 2)), overIpc(make('2', 1))])).get('ejected_hosts')!.samples;
    assert.deepEqual(samples, [{ name: 'ejected_hosts', labels: { cluster: 'c' }, value: 2 }]);
  });

  test('a series only one worker has is kept as is', () => {
    const a = new MetricsRegistry({ worker: '0' });
    a.counter('only_total', 'h', ['k']).bind(['v']).inc(2);
    const b = new MetricsRegistry({ worker: '1' });
    b.counter('only_total', 'h', ['k']);
    const samples = parsePrometheusText(mergeSnapshots([overIpc(a), overIpc(b)])).get('only_total')!.samples;
    assert.deepEqual(samples, [{ name: 'only_total', labels: { k: 'v' }, value: 2 }]);
  });

  test('workers that disagree on a family shape are reported, not silently mixed', () => {
    const a = new MetricsRegistry();
    a.histogram('h', 'h', [], [1, 2]).bind().observe(1);
    const b = new MetricsRegistry();
    b.histogram('h', 'h', [], [1, 3]).bind().observe(1);
    assert.throws(() => mergeSnapshots([overIpc(a), overIpc(b)]), MetricsMergeError);
    const c = new MetricsRegistry();
    c.counter('h', 'h').bind().inc();
    assert.throws(() => mergeSnapshots([overIpc(a), overIpc(c)]), MetricsMergeError);
  });

  test('merging leaves the workers snapshots untouched', () => {
    const a = overIpc(worker('0', 1, [1], 1));
    const before = JSON.stringify(a);
    mergeSnapshots([a, overIpc(worker('1', 1, [1], 1))]);
    assert.equal(JSON.stringify(a), before);
  });
});
