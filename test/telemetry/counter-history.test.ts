import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CounterHistory } from '../../src/telemetry/counter-history.js';
import type { MetricsSnapshot } from '../../src/telemetry/metrics-snapshot.js';

function worker(requests: number, active: number, observed: number[]): MetricsSnapshot {
  return {
    families: [
      { type: 'counter', name: 'requests_total', help: 'r', labelNames: ['code'], series: [{ labels: ['200'], value: requests }] },
      { type: 'gauge', name: 'active', help: 'a', labelNames: [], series: [{ labels: [], value: active }] },
      {
        type: 'histogram',
        name: 'duration',
        help: 'd',
        labelNames: [],
        bounds: [1, 10],
        series: [{ labels: [], buckets: [observed.filter((v) => v <= 1).length, observed.filter((v) => v > 1 && v <= 10).length, observed.filter((v) => v > 10).length], sum: observed.reduce((a, b) => a + b, 0), count: observed.length }],
      },
    ],
  };
}

const value = (s: MetricsSnapshot, name: string): number => {
  const f = s.families.find((x) => x.name === name)!;
  return f.type === 'histogram' ? f.series[0]!.count : f.series[0]!.value;
};

test('an exited worker\'s counters and histograms stay in the totals; its gauges go with it', () => {
  const h = new CounterHistory();
  const a = worker(5, 2, [0.5, 20]);
  const b = worker(3, 1, [5]);
  const first = h.combine([a, b]);
  assert.equal(value(first, 'requests_total'), 8);
  assert.equal(value(first, 'active'), 3);
  assert.equal(value(first, 'duration'), 3);
  h.retire(a);
  const later = h.combine([worker(4, 1, [5, 5])]);
  assert.equal(value(later, 'requests_total'), 9);
  assert.equal(value(later, 'active'), 1);
  assert.equal(value(later, 'duration'), 4);
});

test('a total is never served lower than before (counts since a dead worker\'s last report are lost)', () => {
  const h = new CounterHistory();
  h.combine([worker(5, 0, [1, 1, 1]), worker(5, 0, [1])]);
  // The second worker died unreported: only the first is live.
  const held = h.combine([worker(6, 0, [1, 1, 1, 1])]);
  assert.equal(value(held, 'requests_total'), 10);
  assert.equal(value(held, 'duration'), 4);
  const passed = h.combine([worker(12, 0, [1, 1, 1, 1, 1])]);
  assert.equal(value(passed, 'requests_total'), 12);
  assert.equal(value(passed, 'duration'), 5);
});
