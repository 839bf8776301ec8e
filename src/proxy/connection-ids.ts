/**
 * Envoy's %CONNECTION_ID%: a number for each downstream connection, the same on every line of its
 * requests, unique within a run of the proxy. Envoy counts in one process; here each worker process
 * counts in a range of its own (worker index × 2^40), so two workers never give the same number.
 */

/** Connections a worker may number before its range would meet the next worker's. */
const WORKER_RANGE = 2 ** 40;

let next = 0;

/** Starts this process's numbering in the range of its worker (0 for a single process). */
export function numberConnectionsForWorker(workerIndex: number): void {
  next = workerIndex * WORKER_RANGE;
}

/** The id of a connection just accepted. */
export function nextConnectionId(): number {
  return next++;
}
