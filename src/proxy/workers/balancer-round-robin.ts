import { anyResponsive, canTake, type ConnectionBalancer, type WorkerLoad } from './connection-balancer.js';

/** Each new connection to the next ready worker in turn (one that answers, while any does). */
export class RoundRobinBalancer implements ConnectionBalancer {
  readonly name = 'round-robin';
  readonly acceptsInPrimary = true;
  private next = 0;

  pick(workers: readonly WorkerLoad[]): number {
    const n = workers.length;
    const responsive = anyResponsive(workers);
    for (let i = 0; i < n; i++) {
      const idx = (this.next + i) % n;
      if (canTake(workers[idx]!, responsive)) {
        this.next = (idx + 1) % n;
        return idx;
      }
    }
    return -1;
  }
}
