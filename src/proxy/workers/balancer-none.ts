import type { ConnectionBalancer } from './connection-balancer.js';

/** The kernel's choice: every worker accepts on the shared listening socket. Cheapest, can be uneven. */
export class NoneBalancer implements ConnectionBalancer {
  readonly name = 'none';
  readonly acceptsInPrimary = false;

  pick(): number {
    return -1;
  }
}
