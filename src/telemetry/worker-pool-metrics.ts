/**
 * What the primary of a multi-process proxy counts itself (workers count everything else): its
 * snapshot joins the workers' on /stats/prometheus. Documented in docs/metrics.md.
 */
import type { Counter, CounterFamily } from './counter.js';
import type { GaugeFamily } from './gauge.js';
import { MetricsRegistry } from './metrics-registry.js';
import type { MetricsSnapshot } from './metrics-snapshot.js';

/**
 * Why the primary replaced a worker with a fresh process: its first key load was refused by key
 * custody after its retries (`key_load`), its PKCS#11 session stopped signing while keyd answered
 * (`custody_session`), keyd came back after an outage (`custody_outage`), or its event loop was
 * silent past the watchdog's kill timeout (`watchdog`).
 */
export type WorkerReplacementReason = 'key_load' | 'custody_session' | 'custody_outage' | 'watchdog';

const REASONS: readonly WorkerReplacementReason[] = ['key_load', 'custody_session', 'custody_outage', 'watchdog'];

export class WorkerPoolMetrics {
  private readonly registry = new MetricsRegistry();
  private readonly replacements = new Map<WorkerReplacementReason, Counter>();
  private readonly stalls: CounterFamily;
  private readonly stalled: GaugeFamily;

  constructor() {
    const family = this.registry.counter('bulwark_worker_replacements_total', 'Workers the primary replaced with a fresh process, by reason.', ['reason']);
    // Every reason is bound up front, so a dashboard sees 0 rather than no series.
    for (const reason of REASONS) this.replacements.set(reason, family.bind([reason]));
    this.stalls = this.registry.counter('bulwark_worker_stalls_total', 'Times a worker was silent for the watchdog\'s stall time (2 s unless configured): its event loop was blocked or it was stopped.', ['worker']);
    this.stalled = this.registry.gauge('bulwark_worker_stalled', 'Whether the worker is silent now (1) or answers (0).', ['worker']);
  }

  workerStalled(worker: number, stalled: boolean): void {
    const label = [String(worker)];
    if (stalled) this.stalls.bind(label).inc();
    this.stalled.bind(label).set(stalled ? 1 : 0);
  }

  workerReplaced(reason: WorkerReplacementReason): void {
    this.replacements.get(reason)!.inc();
  }

  /** /reset_counters: the primary's own counters from zero. */
  resetCounters(): void {
    this.registry.resetCounters();
  }

  snapshot(): MetricsSnapshot {
    return this.registry.snapshot();
  }
}
