import { DEFAULT_WORKER_WATCHDOG, type WorkerWatchdogConfig } from '../model/watchdog.js';
import type { FieldReader } from './field-reader.js';

/** Two heartbeats: a shorter stall time would call a worker stalled between two of its reports. */
const MIN_STALL_MS = 500;
const MIN_KILL_MS = 1_000;

/**
 * The worker watchdog from Envoy's bootstrap: `watchdogs.workerWatchdog`, or the deprecated
 * `watchdog` that Envoy applies to every thread. The main thread's watchdog has no counterpart
 * (the primary serves no traffic), nor have missTimeout (no count of short misses is kept),
 * multikill (workers are replaced one by one, never the whole proxy) or actions (extensions).
 */
export function readWorkerWatchdog(root: FieldReader): WorkerWatchdogConfig {
  const legacy = root.optObj('watchdog');
  const current = root.optObj('watchdogs');
  if (legacy && current) root.fail('watchdogs', 'cannot be set together with watchdog (Envoy: only one of them)');
  let worker = legacy;
  if (current) {
    current.ignore('mainThreadWatchdog');
    worker = current.optObj('workerWatchdog');
    current.done();
  }
  if (!worker) return DEFAULT_WORKER_WATCHDOG;
  worker.ignore('actions', 'missTimeout', 'multikillTimeout', 'multikillThreshold');
  const stallMs = worker.duration('megamissTimeout', DEFAULT_WORKER_WATCHDOG.stallMs);
  if (stallMs < MIN_STALL_MS) worker.fail('megamissTimeout', `must be at least ${MIN_STALL_MS}ms: workers report to the primary every 250ms`);
  const killMs = worker.duration('killTimeout', 0);
  if (killMs > 0 && killMs < MIN_KILL_MS) worker.fail('killTimeout', `must be 0 (never) or at least ${MIN_KILL_MS}ms: a worker's report can be that late on a busy machine, and a kill drops its connections`);
  const killJitterMs = worker.duration('maxKillTimeoutJitter', 0);
  worker.done();
  return { stallMs, killMs, killJitterMs };
}
