/**
 * Envoy's watchdog, for worker processes. Each worker says it is alive every HEARTBEAT_MS from a timer
 * on its event loop; a worker silent for STALL_MS has a blocked loop (a TLS handshake waiting on a
 * stalled keyd signs synchronously, a runaway computation) or is stopped. Its connections wait, and
 * nothing else would show it: the primary logs the stall and its end, counts it, and balancers that
 * place connections in the primary pass the worker over until it speaks again.
 */
export const HEARTBEAT_MS = 250;
const STALL_MS = 2_000;
const CHECK_MS = 500;

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
}

export class WorkerWatchdog {
  private readonly timer: NodeJS.Timeout;
  private lastCheckMs = performance.now();

  constructor(
    private readonly workers: () => Iterable<WatchedWorker>,
    private readonly events: WatchdogEvents,
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
      if (!w.ready || !w.responsive || now - w.lastHeardMs < STALL_MS) continue;
      w.responsive = false;
      this.events.stalled(w, now - w.lastHeardMs);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
