import { addResponseFlag, ResponseFlag } from '../http/response-flags.js';
import type { HttpListenerStats } from '../http/http-listener-context.js';
import type { RequestHead } from '../http/request-head.js';
import type { CompiledFault } from './compiled-fault.js';

/** What the fault filter needs from the stream it holds or answers. */
export interface FaultTarget {
  readonly head: RequestHead;
  readonly done: boolean;
  responseFlags: string;
  /** The injection under way on this request, ended with the stream. */
  faultInjection: FaultInjection | undefined;
  /** The cluster the request goes to, or undefined when its route sends it to none (a direct response, no route). */
  faultCluster(): string | undefined;
  /** Answers with the fault filter's abort. */
  faultAbort(httpStatus: number, grpcStatus: number | undefined): void;
  /** The delay is over and no abort followed: the request goes on to the router. */
  faultDelayOver(): void;
}

/**
 * Envoy's fault filter on one request, made only for a request a fault was injected into: a delay
 * (the request waits before it goes upstream; its body is read up to the usual backpressure), then
 * perhaps an abort, or an abort at once. A request counts as one active fault while it is delayed or
 * answered, as Envoy counts it; the count is this connection manager's in this process.
 */
export class FaultInjection {
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private delayed = false;
  private aborted = false;

  private constructor(
    private readonly target: FaultTarget,
    private readonly fault: CompiledFault,
    private readonly stats: HttpListenerStats,
  ) {}

  /**
   * Injects `fault` into the request when it applies and its percentages draw it. True when it did:
   * the request is now held or answered, and `target.faultInjection` is this injection (set before
   * the answer, whose end ends it). False when the request goes on untouched.
   */
  static inject(target: FaultTarget, fault: CompiledFault, stats: HttpListenerStats): boolean {
    const cluster = fault.upstreamCluster;
    if (cluster !== undefined && target.faultCluster() !== cluster) return false;
    if (!fault.appliesTo(target.head)) return false;
    const injection = new FaultInjection(target, fault, stats);
    target.faultInjection = injection;
    const delay = fault.delayMs(target.head);
    if (delay > 0 && injection.activate()) {
      injection.delayed = true;
      stats.faultDelaysInjected++;
      injection.timer = setTimeout(onDelayOver, delay, injection);
      return true;
    }
    if (injection.abortIfDrawn()) return true;
    target.faultInjection = undefined;
    return false;
  }

  /** The stream ended (answered, reset, timed out): the delay is dropped, the fault no longer active, the log flagged. */
  end(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.release();
    if (this.delayed) this.target.responseFlags = addResponseFlag(this.target.responseFlags, ResponseFlag.DelayInjected);
    if (this.aborted) this.target.responseFlags = addResponseFlag(this.target.responseFlags, ResponseFlag.FaultInjected);
  }

  /** Delays can be followed by aborts, drawn when the delay is over (as Envoy's postDelayInjection). */
  delayOver(): void {
    this.timer = undefined;
    if (this.target.done) return;
    if (this.abortIfDrawn()) return;
    this.release();
    this.target.faultDelayOver();
  }

  private abortIfDrawn(): boolean {
    const abort = this.fault.abortStatus(this.target.head);
    if (abort === undefined || !this.activate()) return false;
    this.aborted = true;
    this.stats.faultAbortsInjected++;
    this.target.faultAbort(abort.httpStatus, abort.grpcStatus);
    return true;
  }

  /** Counts this request as an active fault, unless max_active_faults are active already (Envoy's faults_overflow). */
  private activate(): boolean {
    if (this.active) return true;
    if (this.stats.faultsActive >= this.fault.maxActiveFaults) {
      this.stats.faultsOverflow++;
      return false;
    }
    this.stats.faultsActive++;
    this.active = true;
    return true;
  }

  private release(): void {
    if (!this.active) return;
    this.active = false;
    this.stats.faultsActive--;
  }
}

function onDelayOver(injection: FaultInjection): void {
  injection.delayOver();
}
