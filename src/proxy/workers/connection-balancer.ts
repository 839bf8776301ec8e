/** What a balancer may know about a worker when placing a connection. */
export interface WorkerLoad {
  readonly index: number;
  /** Connections the primary handed to this worker that are still open. */
  activeConnections: number;
  /** Requests in flight, as last reported by the worker (load-aware balancing). */
  outstandingRequests: number;
  /** False while the worker is starting or restarting. */
  ready: boolean;
  /** False while its event loop is stalled (worker-watchdog.ts): passed over while another can take the connection. */
  responsive: boolean;
}

/**
 * Whether `w` may take the next connection: a ready worker that answers, or, when no ready worker
 * answers, any ready one (its connection waits for the stall to end rather than being refused).
 */
export function canTake(w: WorkerLoad, anyResponsive: boolean): boolean {
  return w.ready && (w.responsive || !anyResponsive);
}

/** Whether some ready worker answers. */
export function anyResponsive(workers: readonly WorkerLoad[]): boolean {
  for (let i = 0; i < workers.length; i++) if (workers[i]!.ready && workers[i]!.responsive) return true;
  return false;
}

/**
 * Decides which worker process gets a new connection. `none` leaves it to the kernel (workers accept
 * on a shared socket); the others accept in the primary and hand each socket to the chosen worker.
 */
export interface ConnectionBalancer {
  readonly name: string;
  /** True when the primary accepts and distributes; false when workers accept directly. */
  readonly acceptsInPrimary: boolean;
  /** Index into `workers` of the worker for the next connection; -1 when none is ready. */
  pick(workers: readonly WorkerLoad[]): number;
}
