import type { Milliseconds } from './duration.js';

/**
 * Envoy's worker watchdog (bootstrap `watchdogs.workerWatchdog`, or the older `watchdog`), applied
 * to worker processes: the primary hears from each worker every 250 ms.
 */
export interface WorkerWatchdogConfig {
  /** Silence after which a worker counts as stalled: reported, and passed over by the primary's balancers (Envoy's megamiss). */
  stallMs: Milliseconds;
  /** Silence after which the worker is killed and replaced by a fresh process; 0 never does (Envoy's kill_timeout). */
  killMs: Milliseconds;
  /** Up to this much is added to killMs at random, so workers stalled together are not all killed at once. */
  killJitterMs: Milliseconds;
}

/**
 * Envoy's megamiss default is 1 s; a worker's heartbeat crosses a process boundary, and a busy
 * machine delays it more than a thread's touch, so a stall is called at 2 s unless configured.
 */
export const DEFAULT_WORKER_WATCHDOG: WorkerWatchdogConfig = { stallMs: 2_000, killMs: 0, killJitterMs: 0 };
