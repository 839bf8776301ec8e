import type { WorkerWatchdogConfig } from '../../model/watchdog.js';

/**
 * Envoy's watchdog, for worker processes. Each worker says it is alive every HEARTBEAT_MS from a timer
 * on its event loop; a worker silent for the stall time (Envoy's megamiss) has a blocked loop (a TLS
 * handshake waiting on a stalled keyd signs synchronously, a runaway computation) or is stopped. Its
 * connections wait, and nothing else would show it: the primary logs the stall and its end, counts
 * it, and balancers that place connections in the primary pass the worker over until it speaks again.
 * With a kill timeout (Envoy's kill_timeout), a worker silent that long is killed and replaced: a loop
 * blocked for good would otherwise hold its connections, and take the kernel's, forever.
 */
export const HEARTBEAT_MS = 250;
const CHECK_MS = 250;

/** What the watchdog keeps on each worker (the primary's slot for it). */
export interface WatchedWorker {
  readonly index: number;
  /** Only a serving worker is watched: one starting up may block on purpose (key loads). */
  ready: boolean;
  /** When the primary last heard from it (performance.now() ms). */
  lastHeardMs: number;
  /** False from a stall until it speaks again. */
  responsive: boolean;
}

export interface WatchdogEvents {
  stalled(worker: WatchedWorker, silentMs: number): void;
  resumed(worker: WatchedWorker, stalledMs: number): void;
  /** Silent past the kill timeout: told once per worker. */
  killDue(worker: WatchedWorker, silentMs: number): void;
}

export class WorkerWatchdog {
  private readonly timer: NodeJS.Timeout;
  private lastCheckMs = performance.now();
  /** Each stalled worker's kill time, jitter included (drawn once per stall). */
  private readonly killAfterMs = new WeakMap<WatchedWorker, number>();
  private readonly killed = new WeakSet<WatchedWorker>();

  constructor(
    private readonly workers: () => Iterable<WatchedWorker>,
    private readonly events: WatchdogEvents,
    private readonly config: WorkerWatchdogConfig,
  ) {
    this.timer = setInterval(() => this.check(), CHECK_MS).unref();
  }

  /** The worker sent something: its loop runs. */
  heard(worker: WatchedWorker): void {
    const now = performance.now();
    if (!worker.responsive) {
      worker.responsive = true;
      this.events.resumed(worker, now - worker.lastHeardMs);
    }
    this.killAfterMs.delete(worker);
    worker.lastHeardMs = now;
  }

  private check(): void {
    const now = performance.now();
    const primaryLate = now - this.lastCheckMs > 2 * CHECK_MS;
    this.lastCheckMs = now;
    // The primary's own loop was held up: its workers' messages wait behind this timer, unread.
    if (primaryLate) {
      for (const w of this.workers()) w.lastHeardMs = now;
      return;
    }
    for (const w of this.workers()) {
      if (!w.ready) continue;
      const silentMs = now - w.lastHeardMs;
      if (w.responsive && silentMs >= this.config.stallMs) {
        w.responsive = false;
        this.events.stalled(w, silentMs);
      }
      if (this.config.killMs > 0 && !this.killed.has(w) && silentMs >= this.killTime(w)) {
        this.killed.add(w);
        this.events.killDue(w, silentMs);
      }
    }
  }

  private killTime(w: WatchedWorker): number {
    let ms = this.killAfterMs.get(w);
    if (ms === undefined) {
      ms = this.config.killMs + Math.random() * this.config.killJitterMs;
      this.killAfterMs.set(w, ms);
    }
    return ms;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
