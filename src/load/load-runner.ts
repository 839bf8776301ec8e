import { fortioHeaderSize, fortioSize } from './fortio-sizes.js';
import { H1LoadConnection } from './h1-load-connection.js';
import { httpOk } from './http-ok.js';
import { GrpcChannel, GrpcLoadConnection } from './grpc-load-connection.js';
import { H2LoadConnection } from './h2-load-connection.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { LoadConnection } from './load-connection.js';
import type { LoadOptions } from './load-options.js';
import { LoopSchedule } from './load-schedule.js';
import { warmUp } from './load-warmup.js';
import { SERVING } from './grpc-services.js';
import { checkResolves, http1Request, resolveTarget, type LoadTarget } from './load-target.js';
// The module binding: the global `performance` is a lazy getter, a call per read on the hot path.
import { performance } from 'node:perf_hooks';

/** The outcome of one run (one process). */
export interface RunResult {
  recorder: LatencyRecorder;
  startTime: Date;
  /** From the first scheduled call to the last completion. */
  actualDurationMs: number;
  /** Stopped early by a response with the -abort-on status. */
  aborted: boolean;
}

/** Progress callback: calls completed so far and the fraction of the run done. */
export type Progress = (completed: number, fraction: number) => void;

/**
 * One connection's loop. At a fixed rate (-qps) calls follow a fixed timeline (LoopSchedule): when
 * the connection is still busy at its slot, the call goes out late and its latency counts from the
 * slot (coordinated omission corrected); when it waits for its slot on a timer, latency counts from
 * the send, so timer slack is not charged to the server.
 */
class Slot {
  private readonly schedule: LoopSchedule | undefined;
  private started = 0;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private readonly onDoneBound = (status: number, bodyBytes: number, headerBytes = 0, wireBytes = bodyBytes): void => this.onDone(status, bodyBytes, headerBytes, wireBytes);
  finished = false;

  constructor(
    private readonly run: Run,
    index: number,
    readonly conn: LoadConnection,
  ) {
    if (run.intervalMs > 0) this.schedule = new LoopSchedule(run.intervalMs, run.connections, index, run.scheduleOptions);
  }

  next(): void {
    const run = this.run;
    if (!run.mayStart()) return this.finish();
    if (this.schedule) {
      const now = performance.now();
      const slot = run.startMs + this.schedule.nextSlot(now - run.startMs);
      if (run.durationMs > 0 && slot >= run.startMs + run.durationMs) return this.finish();
      // Fortio's sleep times: the wait between a call's end and the next one's slot (negative when
      // late), in whole nanoseconds; none before a loop's first call.
      if (this.started !== 0) run.recorder.sleepTimes.record(Math.round((slot - now) * 1e6) / 1e9);
      if (slot > now) {
        this.timer = setTimeout(() => this.send(performance.now()), this.schedule.wait(slot - now));
        return;
      }
      this.send(slot);
      return;
    }
    if (run.durationMs > 0 && performance.now() >= run.startMs + run.durationMs) return this.finish();
    this.send(performance.now());
  }

  private send(clockStart: number): void {
    this.timer = undefined;
    if (!this.run.claim()) return this.finish();
    this.started = clockStart;
    this.deadline = setTimeout(() => this.onTimeout(), this.run.timeoutMs);
    this.conn.call(this.onDoneBound);
  }

  private onTimeout(): void {
    this.deadline = undefined;
    this.conn.abort();
    this.onDone(-1, 0);
  }

  private onDone(status: number, bodyBytes: number, headerBytes = 0, wireBytes = bodyBytes): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    const now = performance.now();
    this.run.completed(now, (now - this.started) * 1000, status, bodyBytes, headerBytes, wireBytes);
    // A failing server must not turn the loop into a busy spin.
    if (status < 0 && this.run.intervalMs === 0) this.timer = setTimeout(() => this.next(), 10);
    else this.next();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    // A call cut short is not counted; its timeout must not fire later (nor keep the process alive).
    if (this.deadline) clearTimeout(this.deadline);
    this.timer = undefined;
    this.deadline = undefined;
    this.finish();
  }

  /** Ends a loop waiting for its next slot; one with a call in flight ends when the call does. */
  stopIfIdle(): void {
    if (this.deadline === undefined) this.stop();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.conn.close();
    this.run.slotFinished();
  }

}

/** Fortio's success for gRPC: SERVING (for HTTP, httpOk); the rest also goes to the errors histogram. */
function grpcOk(outcome: number): boolean {
  return outcome === SERVING;
}

class Run {
  readonly recorder: LatencyRecorder;
  private readonly ok: (status: number) => boolean;
  readonly intervalMs: number;
  readonly connections: number;
  readonly durationMs: number;
  readonly timeoutMs: number;
  readonly scheduleOptions: LoadOptions['schedule'];
  startMs = 0;
  lastCompletion = 0;
  private claimed = 0;
  private finishedSlots = 0;
  /** Interrupted (SIGINT, -abort-on) before its calls or duration were done. */
  stopped = false;
  aborted = false;
  onAbort: (() => void) | undefined;
  resolve: (() => void) | undefined;

  constructor(
    private readonly o: LoadOptions,
    /** Call loops: the connections, times the streams of each for gRPC. */
    loops: number,
  ) {
    this.connections = loops;
    this.recorder = new LatencyRecorder(o.histogram);
    this.ok = o.grpc ? grpcOk : httpOk;
    this.intervalMs = o.qps > 0 ? 1000 / o.qps : 0;
    this.durationMs = o.durationMs;
    this.timeoutMs = o.timeoutMs;
    this.scheduleOptions = o.schedule;
  }

  mayStart(): boolean {
    return !this.stopped && (this.o.calls === 0 || this.claimed < this.o.calls);
  }

  claim(): boolean {
    if (!this.mayStart()) return false;
    this.claimed++;
    return true;
  }

  completed(now: number, latencyUs: number, status: number, bodyBytes: number, headerBytes: number, wireBytes: number): void {
    this.lastCompletion = now;
    const ok = this.ok(status);
    this.recorder.record(latencyUs, status, ok, fortioSize(this.o, status, bodyBytes, wireBytes), fortioHeaderSize(this.o, ok, headerBytes), bodyBytes);
    if (!ok && this.o.logErrors && !this.o.grpc) process.stderr.write(`Non ok http code ${status}\n`);
    // Fortio's -abort-on (HTTP only): the first response with that status (-1: a socket error) ends the run.
    if (this.o.abortOn !== 0 && !this.o.grpc && status === this.o.abortOn && !this.aborted) {
      this.aborted = true;
      this.stopped = true;
      this.onAbort?.();
    }
  }

  stop(): void {
    this.stopped = true;
  }

  slotFinished(): void {
    if (++this.finishedSlots === this.connections) this.resolve?.();
  }

  fraction(now: number): number {
    if (this.o.calls > 0) return this.recorder.count / this.o.calls;
    if (this.durationMs === 0) return 0;
    return Math.min(1, (now - this.startMs) / this.durationMs);
  }
}

/** A LoadConnection per call loop: one per -c, or for gRPC -s streams sharing each -c channel. */
function connections(o: LoadOptions, target: LoadTarget): LoadConnection[] {
  const out: LoadConnection[] = [];
  if (o.grpc) {
    for (let j = 0; j < o.connections; j++) {
      const channel = new GrpcChannel(target, o, j);
      for (let s = 0; s < o.grpc.streams; s++) out.push(new GrpcLoadConnection(channel.use(), o, s === 0, j * o.grpc.streams + s));
    }
    return out;
  }
  const request = http1Request(o, target);
  const h1 = { newConnectionPerCall: o.newConnection || o.http10, resume: o.resume, expectNoBody: o.method === 'HEAD', fastClient: o.fastClient, layout: o.histogram };
  for (let j = 0; j < o.connections; j++) out.push(o.http2 ? new H2LoadConnection(target, o) : new H1LoadConnection(target, request, h1));
  return out;
}

export interface RunHooks {
  progress?: Progress;
  /** Called as the timed run starts, after the warm-up. */
  onStart?: () => void;
  /** Called when a response with the -abort-on status ends the run. */
  onAbort?: () => void;
  /** Stops the run as ^C does (a worker told by its parent). */
  stop?: AbortSignal;
}

/** Runs the load described by `o` in this process; throws LoadAbortedError when it cannot start. */
export async function runLoad(o: LoadOptions, hooks: RunHooks = {}): Promise<RunResult> {
  const { progress, onStart, onAbort, stop } = hooks;
  const target = resolveTarget(o);
  if (!o.grpc) await checkResolves(target.host);
  const conns = connections(o, target);
  let warmupCalls = 0;
  if (o.calls === 0) {
    try {
      // gRPC warms up each channel once, on its first stream.
      warmupCalls = await warmUp(o, o.grpc ? conns.filter((_, i) => i % o.grpc!.streams === 0) : conns);
    } catch (err) {
      for (const c of conns) c.close();
      throw err;
    }
  }
  const run = new Run(o, conns.length);
  run.recorder.warmupCalls = warmupCalls;
  const slots = conns.map((conn, j) => new Slot(run, j, conn));
  run.onAbort = () => {
    for (const s of slots) s.stopIfIdle();
    onAbort?.();
  };
  onStart?.();
  const startTime = new Date();
  run.startMs = performance.now();
  const done = new Promise<void>((resolve) => (run.resolve = resolve));
  const ticker = progress ? setInterval(() => progress(run.recorder.count, run.fraction(performance.now())), 500) : undefined;
  // Calls still in flight when the duration ends get their timeout to finish, then are cut.
  const hardStop = o.durationMs > 0 ? setTimeout(() => slots.forEach((s) => s.stop()), o.durationMs + o.timeoutMs) : undefined;
  const onSignal = (): void => {
    run.stop();
    slots.forEach((s) => s.stop());
  };
  process.once('SIGINT', onSignal);
  if (stop?.aborted) onSignal();
  stop?.addEventListener('abort', onSignal);
  for (const s of slots) s.next();
  await done;
  process.off('SIGINT', onSignal);
  stop?.removeEventListener('abort', onSignal);
  if (ticker) clearInterval(ticker);
  if (hardStop) clearTimeout(hardStop);
  run.recorder.connections = conns.map((c) => c.sockets);
  // At a fixed rate, a timed run lasts its whole duration (Fortio's threads sleep out their last
  // interval), so ActualQPS is the rate kept, not one inflated by the last interval left out.
  const endMs = o.qps > 0 && o.durationMs > 0 && !run.stopped ? Math.max(run.lastCompletion, run.startMs + o.durationMs) : run.lastCompletion;
  return { recorder: run.recorder, startTime, actualDurationMs: Math.max(endMs - run.startMs, 0.001), aborted: run.aborted };
}
