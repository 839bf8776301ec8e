import { anyResponsive, canTake, type ConnectionBalancer, type WorkerLoad } from './connection-balancer.js';

/**
 * Envoy's exact_balance: each new connection goes to the ready worker with the fewest connections
 * open, so long-lived connections cannot pile up on one worker. Ties go round in turn.
 */
export class ExactBalancer implements ConnectionBalancer {
  readonly name = 'exact';
  readonly acceptsInPrimary = true;
  private next = 0;

  pick(workers: readonly WorkerLoad[]): number {
    const n = workers.length;
    const responsive = anyResponsive(workers);
    let best = -1;
    for (let i = 0; i < n; i++) {
      const idx = (this.next + i) % n;
      const w = workers[idx]!;
      if (canTake(w, responsive) && (best < 0 || w.activeConnections < workers[best]!.activeConnections)) best = idx;
    }
    if (best >= 0) this.next = (best + 1) % n;
    return best;
  }
}
