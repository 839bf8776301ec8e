import type { FieldReader } from './field-reader.js';

/** Envoy's weighted_clusters.clusters (a route's or a tcp_proxy's): each named, weights not all zero. */
export function readWeightedClusters(wc: FieldReader): Array<{ name: string; weight: number }> {
  const clusters = wc.list('clusters', (c) => {
    const out = { name: c.nonEmptyStr('name'), weight: c.int('weight', 0, 0, 1_000_000) };
    c.done();
    return out;
  });
  if (clusters.length === 0) wc.fail('clusters', 'needs at least one cluster');
  if (clusters.every((c) => c.weight === 0)) wc.fail('clusters', 'weights must not all be zero');
  wc.done();
  return clusters;
}
