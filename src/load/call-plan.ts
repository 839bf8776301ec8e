import type { LoadOptions } from './load-options.js';

/**
 * How a run's calls are split among its call loops (Fortio's threads), as Fortio's periodic runner
 * splits them (periodic.go runQPSSetup, runMaxQPSSetup, Run).
 */
export interface CallPlan {
  /** The loops that run: fewer than opened when a fixed-rate run has under 2 calls for each. */
  threads: number;
  /** The calls each loop makes; 0 for a run without a count (max rate for a duration, or until interrupted). */
  perThread: number;
  /** The calls of -n left over by the split: loop 0 makes them too. */
  leftOver: number;
  /** Fortio's warnings about the split (the count raised to 2, the threads lowered). */
  warnings: string[];
}

/** The call loops opened: the connections (at least one per -workers process), times the streams of each for gRPC. */
export function openedLoops(o: LoadOptions): number {
  return (o.workers > 1 ? Math.max(o.connections, o.workers) : o.connections) * (o.grpc?.streams ?? 1);
}

/** Go's Duration.Seconds() of a duration given in milliseconds. */
function goSeconds(ms: number): number {
  const ns = Math.round(ms * 1e6);
  return Math.trunc(ns / 1e9) + (ns % 1e9) / 1e9;
}

export function callPlan(o: LoadOptions): CallPlan {
  let threads = openedLoops(o);
  const warnings: string[] = [];
  if (o.calls === 0 && (o.qps === 0 || o.durationMs === 0)) return { threads, perThread: 0, leftOver: 0, warnings };
  if (o.qps === 0) return { threads, perThread: Math.floor(o.calls / threads), leftOver: o.calls % threads, warnings };
  let total = o.calls > 0 ? o.calls : Math.trunc(o.qps * goSeconds(o.durationMs));
  if (total < 2) {
    warnings.push('Increasing the number of calls to the minimum of 2 with 1 thread. total duration will increase');
    total = 2;
    threads = 1;
  }
  if (2 * threads > total) {
    const lowered = Math.floor(total / 2);
    warnings.push(`Lowering number of threads - total call ${total} -> lowering from ${threads} to ${lowered} threads`);
    threads = lowered;
  }
  const perThread = Math.floor(total / threads);
  // Only -n has a remainder: a timed run drops it. Below 2 calls, the one loop makes exactly -n.
  return { threads, perThread, leftOver: o.calls > 0 ? o.calls - perThread * threads : 0, warnings };
}

/**
 * The calls loop `index` makes; 0 for no count. As Fortio's runOne, a loop at max rate makes its
 * first call before it looks at its count, so it makes at least one even when -n is below -c.
 */
export function loopCalls(plan: CallPlan, index: number, maxRate: boolean): number {
  if (plan.perThread === 0 && plan.leftOver === 0) return 0;
  const calls = plan.perThread + (index === 0 ? plan.leftOver : 0);
  return maxRate ? Math.max(calls, 1) : calls;
}
