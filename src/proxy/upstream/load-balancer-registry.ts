import type { Cluster, LbPolicy } from '../../model/cluster.js';
import type { LoadBalancer, LoadBalancerFactory } from './load-balancer.js';
import { LeastRequestLoadBalancer } from './load-balancer-least-request.js';
import { RandomLoadBalancer } from './load-balancer-random.js';
import { RingHashLoadBalancer } from './load-balancer-ring-hash.js';
import { RoundRobinLoadBalancer } from './load-balancer-round-robin.js';

/** Load balancers by Envoy's lbPolicy name; one line per policy. */
const factories = new Map<string, LoadBalancerFactory>([
  ['ROUND_ROBIN', () => new RoundRobinLoadBalancer()],
  ['LEAST_REQUEST', (c) => new LeastRequestLoadBalancer(c.leastRequestLbConfig.choiceCount)],
  ['RANDOM', () => new RandomLoadBalancer()],
  ['RING_HASH', (c) => new RingHashLoadBalancer(c.ringHashLbConfig.minimumRingSize, c.ringHashLbConfig.maximumRingSize)],
]);

export function registerLoadBalancer(policy: string, factory: LoadBalancerFactory): void {
  factories.set(policy, factory);
}

/** The balancer for a cluster's lbPolicy. */
export function createLoadBalancer(cluster: Cluster): LoadBalancer {
  const factory = factories.get(cluster.lbPolicy satisfies LbPolicy);
  if (!factory) throw new Error(`cluster ${cluster.name}: no load balancer for lbPolicy ${cluster.lbPolicy}`);
  return factory(cluster);
}
