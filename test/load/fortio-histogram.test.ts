import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { LoadUsageError, parseLoadArgs } from '../../src/load/load-options.js';
import { ValueStats } from '../../src/load/value-stats.js';
import { bulwark, rawHttpServer, type RawServer } from './load-support.js';

const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;

test('Fortio buckets: ]prev, edge] in units of the resolution, the first from Min and the last to Max', () => {
  const s = new ValueStats(0, 0.001);
  for (const v of [0.0005, 0.0015, 0.0015, 0.002, 0.0025, 0.195]) s.record(v);
  const d = s.data();
  assert.deepEqual(d.map((b) => b.Count), [1, 3, 1, 1], 'a value on an edge (2 ms) falls in the bucket that ends there');
  assert.ok(near(d[0]!.Start, 0.0005) && near(d[0]!.End, 0.001));
  assert.ok(near(d[1]!.Start, 0.001) && near(d[1]!.End, 0.002));
  assert.ok(near(d[3]!.Start, 0.18) && near(d[3]!.End, 0.195), 'Fortio\'s edges: ... 180, 200; the last bucket ends at Max');
  assert.ok(near(d.at(-1)!.Percent, 100));
  assert.deepEqual([s.count, s.min, s.max], [6, 0.0005, 0.195]);
  const coarse = new ValueStats(0, 0.01);
  for (const v of [0.0005, 0.0015, 0.0025]) coarse.record(v);
  assert.deepEqual(coarse.data().map((b) => b.Count), [3], '-r 0.01: all three in the first 10 ms bucket');
  const shifted = new ValueStats(0.01, 0.001);
  for (const v of [0.0105, 0.005]) shifted.record(v);
  const sd = shifted.data();
  assert.ok(near(sd[0]!.End, 0.01) && near(sd[1]!.End, 0.0105), '-offset: values at or below it in the first bucket, edges shifted');
  const bytes = new ValueStats(0, 100);
  for (const v of [0, 150, 150, 1_000_000_000]) bytes.record(v);
  assert.deepEqual(bytes.data().map((b) => [b.End, b.Count]), [[0, 1], [200, 2], [1_000_000_000, 1]], 'sizes: 100-byte units, and a bucket past the last edge');
});

test('load flags: -r (seconds, default 0.001, 0 or less for the default) and -offset (a Go duration, may be negative)', () => {
  assert.deepEqual(parseLoadArgs(['http://h/']).histogram, { resolution: 0.001, offset: 0 });
  assert.deepEqual(parseLoadArgs(['-r', '0.0001', '-offset', '1ms', 'http://h/']).histogram, { resolution: 0.0001, offset: 0.001 });
  assert.deepEqual(parseLoadArgs(['-r', '0', '-offset=-250us', 'http://h/']).histogram, { resolution: 0.001, offset: -0.00025 });
  assert.throws(() => parseLoadArgs(['-r', 'fine', 'http://h/']), LoadUsageError);
  assert.throws(() => parseLoadArgs(['-offset', '5', 'http://h/']), LoadUsageError);
});

/** Every other response a 503, each with a head of a known size. */
function alternating(): Promise<RawServer> {
  const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';
  const fail = 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n';
  let n = 0;
  return rawHttpServer(() => (++n % 2 === 0 ? fail : ok));
}

test('the JSON has ErrorsDurationHistogram (failed calls), HeaderSizes, sized buckets, and -r sets the duration buckets', async () => {
  const server = await alternating();
  try {
    const run = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '40', '-r', '0.0001', '-json', '-', `${server.url}/`]);
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as FortioResult;
    assert.deepEqual(r.RetCodes, { '200': 20, '503': 20 });
    const e = r.ErrorsDurationHistogram;
    assert.equal(e.Count, 20, 'the 503s are the errors');
    assert.ok(e.Min >= r.DurationHistogram.Min && e.Max <= r.DurationHistogram.Max && e.Avg > 0, 'in seconds, within all calls');
    assert.equal(e.Data.reduce((n, b) => n + b.Count, 0), 20);
    assert.deepEqual(e.Percentiles.map((p) => p.Percentile), [50, 75, 90, 99, 99.9]);
    // The heads: 38 bytes for the 200s; none for the 503s, whose heads Fortio's fast client does not parse.
    assert.deepEqual([r.HeaderSizes.Count, r.HeaderSizes.Min, r.HeaderSizes.Max, r.HeaderSizes.Sum], [40, 0, 38, 20 * 38]);
    assert.deepEqual(r.HeaderSizes.Data.map((b) => [b.Start, b.End, b.Count]), [[0, 0, 20], [35, 38, 20]], '5-byte buckets: at or below 0, then ]35,40] up to Max');
    assert.deepEqual(r.Sizes.Data.map((b) => [b.Start, b.End, b.Count]), [[43, 55, 40]], 'whole responses (43 and 55 bytes) in the first 100-byte bucket, from Min to Max');
    const inner = r.DurationHistogram.Data.slice(0, -1);
    assert.ok(inner.every((b, i) => i === 0 || Math.abs(b.End / 0.0001 - Math.round(b.End / 0.0001)) < 1e-6), `bucket edges in 0.1 ms units: ${JSON.stringify(inner)}`);
    assert.match(run.stderr, /^Error cases : count 20 avg /m);
    assert.match(run.stderr, /^Response Header Sizes : count 40 avg 19 /m);
    const clean = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '2', '-json', '-', `${server.url}/`]);
    const ok = JSON.parse(clean.stdout) as FortioResult;
    assert.equal(ok.ErrorsDurationHistogram.Count, 1);
  } finally {
    server.close();
  }
});
