import { ExactBalancer } from './balancer-exact.js';
import { NoneBalancer } from './balancer-none.js';
import { RoundRobinBalancer } from './balancer-round-robin.js';
import type { ConnectionBalancer } from './connection-balancer.js';

/** Connection balancers by the name used in a listener's connectionBalanceConfig. */
const BALANCERS: Record<string, () => ConnectionBalancer> = {
  none: () => new NoneBalancer(),
  'round-robin': () => new RoundRobinBalancer(),
  // Envoy's connectionBalanceConfig.exactBalance.
  exact: () => new ExactBalancer(),
};

export function balancerNames(): string[] {
  return Object.keys(BALANCERS);
}

/** Creates the named balancer; throws with the known names when it does not exist. */
export function createBalancer(name: string): ConnectionBalancer {
  const make = BALANCERS[name];
  if (!make) throw new Error(`unknown connection balancer "${name}" (known: ${balancerNames().join(', ')})`);
  return make();
}
