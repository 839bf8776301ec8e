import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutlierDetection } from '../../src/model/cluster.js';
import { OutlierDetector } from '../../src/proxy/upstream/outlier-detector.js';
import { Host } from '../../src/proxy/upstream/host.js';

const BASE: OutlierDetection = {
  consecutive5xx: 3,
  consecutiveGatewayFailure: 5,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  splitExternalLocalOriginErrors: false,
  consecutiveLocalOriginFailure: 2,
  enforcingConsecutiveLocalOriginFailure: 100,
  interval: 10_000,
  baseEjectionTime: 30_000,
  maxEjectionPercent: 100,
  maxEjectionTime: 300_000,
};

function hosts(n: number): Host[] {
  return Array.from({ length: n }, (_, i) => new Host('127.0.0.1', 1000 + i, `127.0.0.1:${1000 + i}`, 1));
}

/** Feeds `outcomes` to host 0; returns whether any of them ejected it. */
function feed(config: OutlierDetection, outcomes: Array<number | 'connect-failure' | 'reset' | 'timeout'>): boolean {
  const d = new OutlierDetector(config);
  const hs = hosts(4);
  let ejected = false;
  for (const o of outcomes) ejected = d.record(hs[0]!, o, hs, 1000) || ejected;
  return ejected;
}

test('consecutive 5xx eject at the threshold; enforcingConsecutive5xx 0 turns that detector off', () => {
  assert.equal(feed(BASE, [500, 500, 500]), true);
  assert.equal(feed(BASE, [500, 500, 200, 500]), false);
  assert.equal(feed({ ...BASE, enforcingConsecutive5xx: 0 }, [500, 500, 500, 500, 500, 500]), false);
});

test('gateway failures only eject when their enforcement says so (Envoy defaults it to 0)', () => {
  const gw = { ...BASE, consecutive5xx: 0 };
  assert.equal(feed(gw, [503, 503, 503, 503, 503, 503]), false);
  assert.equal(feed({ ...gw, enforcingConsecutiveGatewayFailure: 100 }, [503, 503, 503, 503, 503]), true);
  // 500 is a 5xx but not a gateway failure: it breaks the run.
  assert.equal(feed({ ...gw, enforcingConsecutiveGatewayFailure: 100 }, [503, 503, 500, 503, 503, 503]), false);
});

test('with splitExternalLocalOriginErrors, connect failures count apart from the answers a host gave', () => {
  const split = { ...BASE, splitExternalLocalOriginErrors: true };
  // Without the split they are 503s and reach the 5xx threshold together with real 500s.
  assert.equal(feed(BASE, [500, 'connect-failure', 500]), true);
  assert.equal(feed(split, [500, 'connect-failure', 500]), false);
  // Apart, they have their own threshold (2 here) and enforcement.
  assert.equal(feed(split, ['connect-failure', 'timeout']), true);
  assert.equal(feed({ ...split, enforcingConsecutiveLocalOriginFailure: 0 }, ['reset', 'reset', 'reset']), false);
  // A host that answers (any status) breaks a run of local-origin failures.
  assert.equal(feed(split, ['connect-failure', 200, 'connect-failure']), false);
});
