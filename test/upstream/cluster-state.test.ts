import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FieldReader } from '../../src/config/field-reader.js';
import { readCluster } from '../../src/config/cluster-reader.js';
import type { Cluster } from '../../src/model/cluster.js';
import { tcpConnector } from '../../src/proxy/clusters/transport-connectors.js';
import { ClusterState } from '../../src/proxy/upstream/cluster-state.js';
import type { Host } from '../../src/proxy/upstream/host.js';

const states: ClusterState[] = [];
after(() => states.forEach((s) => s.close()));

function cluster(ports: Array<number | [number, number]>, extra: Record<string, unknown> = {}): Cluster {
  const lbEndpoints = ports.map((p) => {
    const [port, weight] = Array.isArray(p) ? p : [p, 1];
    return { endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: port } } }, loadBalancingWeight: weight };
  });
  return readCluster(FieldReader.of({ name: 'c', type: 'STATIC', loadAssignment: { endpoints: [{ lbEndpoints }] }, ...extra }, 'test.yaml', 'c', ''));
}

function state(model: Cluster): ClusterState {
  const s = new ClusterState(model, tcpConnector({ tcpKeepaliveMs: 0 }));
  states.push(s);
  return s;
}

function tally(s: ClusterState, n: number, key?: (i: number) => string | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const h = s.chooseHost(key?.(i))!;
    out.set(h.port, (out.get(h.port) ?? 0) + 1);
  }
  return out;
}

test('round robin visits hosts in turn, and in proportion to weight when weights differ', () => {
  const rr = state(cluster([1, 2, 3]));
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => rr.chooseHost(undefined)!.port), [1, 2, 3, 1, 2, 3]);
  const weighted = state(cluster([[1, 3], [2, 1]]));
  const seq = Array.from({ length: 8 }, () => weighted.chooseHost(undefined)!.port);
  assert.deepEqual(seq.filter((p) => p === 1).length, 6);
});

test('least request prefers the host with fewer requests in flight', () => {
  const s = state(cluster([1, 2], { lbPolicy: 'LEAST_REQUEST' }));
  const busy = s.chooseHost(undefined)!;
  busy.activeRequests = 50;
  const counts = tally(s, 200);
  assert.ok((counts.get(busy.port) ?? 0) < 10, `busy host chosen ${counts.get(busy.port)} times of 200`);
});

test('random spreads by weight', () => {
  const s = state(cluster([[1, 9], [2, 1]], { lbPolicy: 'RANDOM' }));
  const counts = tally(s, 5000);
  const share = counts.get(1)! / 5000;
  assert.ok(share > 0.85 && share < 0.95, `share ${share}`);
});

test('ring hash keeps a key on one host, and only an ejected host’s keys move', () => {
  const s = state(cluster([1, 2, 3, 4], { lbPolicy: 'RING_HASH', outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100 } }));
  const before = Array.from({ length: 400 }, (_, i) => s.chooseHost(`user-${i}`)!);
  assert.deepEqual(Array.from({ length: 400 }, (_, i) => s.chooseHost(`user-${i}`)!), before);
  assert.equal(new Set(before.map((h) => h.port)).size, 4);
  const victim = before[0]!;
  s.recordOutcome(victim, 503);
  const afterEject = Array.from({ length: 400 }, (_, i) => s.chooseHost(`user-${i}`)!);
  for (let i = 0; i < 400; i++) {
    if (before[i] === victim) assert.notEqual(afterEject[i], victim);
    else assert.equal(afterEject[i], before[i]);
  }
  const withoutKey = tally(s, 400);
  assert.equal(withoutKey.get(victim.port) ?? 0, 0);
});

test('outlier detection ejects after consecutive 5xx, for base time × ejections, and a success resets the count', async () => {
  const s = state(cluster([1, 2, 3], { outlierDetection: { consecutive5xx: 3, baseEjectionTime: '0.2s', maxEjectionPercent: 50 } }));
  const h = s.hosts[0]!;
  s.recordOutcome(h, 500);
  s.recordOutcome(h, 502);
  s.recordOutcome(h, 200);
  s.recordOutcome(h, 'reset');
  s.recordOutcome(h, 'timeout');
  assert.equal(s.stats.ejectedNow, 0);
  s.recordOutcome(h, 'connect-failure');
  assert.equal(s.stats.ejectedNow, 1);
  assert.equal(s.stats.ejectionsTotal, 1);
  assert.equal(tally(s, 30).get(1) ?? 0, 0);
  // maxEjectionPercent 50 of 3 hosts: a second host may not go out while the first is.
  for (let i = 0; i < 3; i++) s.recordOutcome(s.hosts[1]!, 503);
  assert.equal(s.stats.ejectedNow, 1);
  await sleep(250);
  assert.equal(s.stats.ejectedNow, 0);
  assert.ok((tally(s, 30).get(1) ?? 0) > 0, 'the host returns after its ejection time');
  for (let i = 0; i < 3; i++) s.recordOutcome(h, 503);
  assert.ok(h.ejectedUntil - Date.now() > 250, 'the second ejection lasts twice as long');
});

test('panic: when most hosts are out, balance over all of them; with panic off, none is chosen', () => {
  const s = state(cluster([1, 2, 3], { outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100 } }));
  s.recordOutcome(s.hosts[0]!, 500);
  s.recordOutcome(s.hosts[1]!, 500);
  assert.equal(s.stats.ejectedNow, 2);
  assert.equal(tally(s, 30).size, 3);
  assert.equal(s.stats.panic, true);
  const strict = state(cluster([1], { commonLbConfig: { healthyPanicThreshold: { value: 0 } }, outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100 } }));
  strict.recordOutcome(strict.hosts[0]!, 500);
  assert.equal(strict.chooseHost(undefined), undefined);
});

test('circuit breakers refuse above the threshold and count the overflow', () => {
  const s = state(cluster([1], { circuitBreakers: { thresholds: [{ maxRequests: 2, maxRetries: 0 }] } }));
  assert.ok(s.tryAcquire('requests'));
  assert.ok(s.tryAcquire('requests'));
  assert.equal(s.tryAcquire('requests'), false);
  assert.equal(s.tryAcquire('retries'), false);
  s.release('requests');
  assert.ok(s.tryAcquire('requests'));
  assert.equal(s.stats.overflows.requests, 1);
  assert.equal(s.stats.overflows.retries, 1);
});

test('an update keeps surviving hosts with their state and drops removed ones', () => {
  const s = state(cluster([1, 2]));
  const kept = s.hosts[1]!;
  kept.activeRequests = 7;
  s.update(cluster([2, 3]), tcpConnector({ tcpKeepaliveMs: 0 }));
  assert.deepEqual(s.hosts.map((h) => h.port), [2, 3]);
  assert.equal(s.hosts[0], kept);
  assert.equal(tally(s, 10).get(1), undefined);
});

test('active HTTP health checks take a failing host out and bring it back', async () => {
  let healthy = true;
  const servers: Server[] = [];
  const listen = async (handler: () => number): Promise<number> => {
    const srv = createServer((req, res) => {
      res.writeHead(req.url === '/healthz' ? handler() : 200).end();
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return (srv.address() as AddressInfo).port;
  };
  const flaky = await listen(() => (healthy ? 200 : 503));
  const steady = await listen(() => 200);
  try {
    const s = state(
      cluster([flaky, steady], {
        commonLbConfig: { healthyPanicThreshold: 0 },
        healthChecks: [{ timeout: '0.5s', interval: '0.05s', unhealthyThreshold: 2, healthyThreshold: 2, httpHealthCheck: { path: '/healthz' } }],
      }),
    );
    const chosen = (): Set<number> => new Set(Array.from({ length: 10 }, () => (s.chooseHost(undefined) as Host).port));
    assert.deepEqual([...chosen()].sort(), [flaky, steady].sort());
    healthy = false;
    await waitFor(() => s.stats.healthyHosts === 1);
    assert.deepEqual([...chosen()], [steady]);
    healthy = true;
    await waitFor(() => s.stats.healthyHosts === 2);
    assert.equal(chosen().size, 2);
  } finally {
    for (const srv of servers) srv.close();
  }
});

test('TCP health checks mark a host whose port is closed as unhealthy', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  srv.close();
  const open = createServer();
  await new Promise<void>((r) => open.listen(0, '127.0.0.1', r));
  const openPort = (open.address() as AddressInfo).port;
  try {
    const s = state(cluster([port, openPort], { healthChecks: [{ timeout: '0.5s', interval: '0.05s', unhealthyThreshold: 1, healthyThreshold: 1, tcpHealthCheck: {} }] }));
    await waitFor(() => s.stats.healthyHosts === 1);
    assert.equal(s.hosts.find((h) => h.port === port)!.failedActiveHealthCheck, true);
  } finally {
    open.close();
  }
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

test('locality priorities: level 0 takes all the traffic while it has a usable host, then level 1 takes over', () => {
  const model = readCluster(
    FieldReader.of(
      {
        name: 'c',
        type: 'STATIC',
        loadAssignment: {
          endpoints: [
            { priority: 0, lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 1 } } } }] },
            {
              priority: 1,
              lbEndpoints: [2, 3, 4].map((p) => ({ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: p } } } })),
            },
          ],
        },
        outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100 },
      },
      'test.yaml',
      'c',
      '',
    ),
  );
  const s = state(model);
  // One healthy host of four in level 0 is not a panic: the other levels' hosts are usable too.
  assert.deepEqual([...tally(s, 30).keys()], [1]);
  const local = s.chooseHost(undefined)!;
  s.recordOutcome(local, 503);
  const failover = tally(s, 30);
  assert.deepEqual([...failover.keys()].sort(), [2, 3, 4]);
});

test('a state that does not run the health checks takes their results: failing hosts are left out until a later snapshot clears them', () => {
  const checks = { healthChecks: [{ timeout: '0.5s', interval: '10s', unhealthyThreshold: 1, healthyThreshold: 1, tcpHealthCheck: {} }] };
  const s = new ClusterState(cluster([1001, 1002], checks), tcpConnector({ tcpKeepaliveMs: 0 }), false);
  states.push(s);
  s.applyHealth(new Set(['127.0.0.1:1001']));
  assert.deepEqual([...tally(s, 10).keys()], [1002]);
  assert.deepEqual(s.failingHosts(), ['127.0.0.1:1001']);
  s.applyHealth(new Set());
  assert.equal(tally(s, 10).size, 2);
  // Without health checks configured, results from elsewhere change nothing.
  const unchecked = new ClusterState(cluster([1001, 1002]), tcpConnector({ tcpKeepaliveMs: 0 }), false);
  states.push(unchecked);
  unchecked.applyHealth(new Set(['127.0.0.1:1001']));
  assert.equal(tally(unchecked, 10).size, 2);
});

test('an ejection from another worker is applied until its time, within maxEjectionPercent, and never shortens one', () => {
  const od = { outlierDetection: { consecutive5xx: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 } };
  const s = state(cluster([1001, 1002, 1003, 1004], od));
  const until = Date.now() + 30_000;
  s.applyEjection('127.0.0.1:1001', until, 1);
  assert.ok(!tally(s, 20).has(1001));
  // Past the cap: a second ejected host (50 %) is allowed, a third is not.
  s.applyEjection('127.0.0.1:1002', until, 1);
  s.applyEjection('127.0.0.1:1003', until, 1);
  assert.deepEqual([...tally(s, 20).keys()].sort(), [1003, 1004]);
  // An earlier end and an unknown host change nothing; an ejection already over is ignored.
  s.applyEjection('127.0.0.1:1001', Date.now() + 1000, 1);
  s.applyEjection('127.0.0.1:9999', until, 1);
  s.applyEjection('127.0.0.1:1004', Date.now() - 1, 1);
  assert.equal(s.hosts.find((h) => h.port === 1001)!.ejectedUntil, until);
  assert.ok(tally(s, 20).has(1004));
  // Without outlier detection, ejections from elsewhere are ignored.
  const plain = state(cluster([1001, 1002]));
  plain.applyEjection('127.0.0.1:1001', until, 1);
  assert.equal(tally(plain, 10).size, 2);
});
