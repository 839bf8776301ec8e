import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBootstrap } from '../../src/config/bootstrap-loader.js';
import { createBalancer } from '../../src/proxy/workers/balancer-registry.js';
import type { WorkerLoad } from '../../src/proxy/workers/connection-balancer.js';

const workers = (...conns: number[]): WorkerLoad[] => conns.map((c, index) => ({ index, activeConnections: c, outstandingRequests: 0, ready: true, responsive: true }));

test('exact (Envoy exactBalance) gives each connection to the ready worker with the fewest open, ties in turn', () => {
  const b = createBalancer('exact');
  assert.equal(b.acceptsInPrimary, true);
  assert.equal(b.pick(workers(5, 2, 7)), 1);
  const even = workers(3, 3, 3);
  const picks = [b.pick(even), b.pick(even), b.pick(even)];
  assert.deepEqual([...picks].sort(), [0, 1, 2]);
  const w = workers(0, 9);
  w[0]!.ready = false;
  assert.equal(b.pick(w), 1);
  w[1]!.ready = false;
  assert.equal(b.pick(w), -1);
});

test("a listener's connectionBalanceConfig.exactBalance selects the exact balancer", () => {
  const b = parseBootstrap(
    JSON.stringify({
      staticResources: {
        listeners: [
          {
            name: 'tcp',
            address: { socketAddress: { address: '127.0.0.1', portValue: 1 } },
            connectionBalanceConfig: { exactBalance: {} },
            filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 't', cluster: 'c' } }] }],
          },
        ],
        clusters: [{ name: 'c', loadAssignment: { endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 2 } } } }] }] } }],
      },
    }),
    'b.json',
  );
  const name = b.staticResources.listeners[0]!.connectionBalanceConfig.balancer;
  assert.equal(name, 'exact');
  assert.equal(createBalancer(name).name, 'exact');
});

test('an unknown balancer name is a config error naming the listener and field', () => {
  const config = JSON.stringify({
    staticResources: {
      listeners: [
        {
          name: 'tcp',
          address: { socketAddress: { address: '127.0.0.1', portValue: 1 } },
          connectionBalanceConfig: { balancer: 'fastest' },
          filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 't', cluster: 'c' } }] }],
        },
      ],
    },
  });
  assert.throws(() => parseBootstrap(config, 'b.json'), (err: { errors?: Array<{ message: string }> }) =>
    /listener "tcp": connectionBalanceConfig\.balancer: unknown connection balancer "fastest"/.test(err.errors?.[0]?.message ?? ''),
  );
});

test('round-robin and exact pass over a worker whose event loop is stalled while another answers, and use it when none does', () => {
  for (const name of ['round-robin', 'exact']) {
    const b = createBalancer(name);
    const w = workers(0, 0, 0);
    w[1]!.responsive = false;
    const picks = Array.from({ length: 6 }, () => b.pick(w));
    assert.ok(!picks.includes(1), `${name} picked the stalled worker: ${picks}`);
    w[0]!.responsive = false;
    w[2]!.responsive = false;
    // Every worker stalled: a connection still goes to one (it waits) rather than being refused.
    assert.ok(b.pick(w) >= 0, name);
  }
});
