import { fortioHeaderSize, fortioSize } from './fortio-sizes.js';
import { H1LoadConnection } from './h1-load-connection.js';
import { httpOk } from './http-ok.js';
import { GrpcChannel, GrpcLoadConnection } from './grpc-load-connection.js';
import { H2LoadConnection } from './h2-load-connection.js';
import { RedirectLoadConnection } from './redirect-load-connection.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { LoadConnection } from './load-connection.js';
import type { LoadOptions } from './load-options.js';
import { LoopSchedule } from './load-schedule.js';
import { callPlan, loopCalls, openedLoops, type CallPlan } from './call-plan.js';
import { warmUp } from './load-warmup.js';
import { SERVING } from './grpc-services.js';
import type * as grpc from '@grpc/grpc-js';
import { grpcDetails, grpcErrorOutcome, grpcErrorText } from './grpc-outcome.js';
import { GrpcMethodError, resolveCustomCall, type CustomGrpcCall } from './grpc-reflection-client.js';
import { LoadAbortedError } from './load-aborted-error.js';
import { openAccessLog, type AccessLog } from './access-log.js';
import { goDurationText } from './go-format.js';
import { FortioResolver, type LookupAll } from './fortio-dns.js';
import { checkResolves, http1Request, resolveTarget, type LoadTarget } from './load-target.js';
import { echoOk } from './socket-echo-call.js';
import { requestsGzip } from './gzip-response.js';
import { resolveSocketEcho } from './socket-echo-destination.js';
import { TcpLoadConnection } from './tcp-load-connection.js';
import { UdpLoadConnection } from './udp-load-connection.js';
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
 * One connection's loop (Fortio's thread), making the calls the plan gives it. At a fixed rate
 * (-qps) calls follow a fixed timeline (LoopSchedule): when the connection is still busy at its
 * slot, the call goes out late and its latency counts from the slot (coordinated omission
 * corrected); when it waits for its slot on a timer, latency counts from the send, so timer slack
 * is not charged to the server.
 */
class Slot {
  private readonly schedule: LoopSchedule | undefined;
  private started = 0;
  /** Calls made, for a count at max rate. */
  private made = 0;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private readonly onDoneBound = (status: number, bodyBytes: number, headerBytes = 0, wireBytes = bodyBytes, outcome?: string): void => this.onDone(status, bodyBytes, headerBytes, wireBytes, outcome);
  finished = false;

  constructor(
    private readonly run: Run,
    /** The loop's index in the whole run (all -workers), Fortio's thread ID. */
    private readonly index: number,
    readonly conn: LoadConnection,
    /** The calls this loop makes; 0 for no count. */
    private readonly calls: number,
  ) {
    if (run.intervalMs > 0) this.schedule = new LoopSchedule(run.intervalMs, run.threads, index, calls, run.spreadToEnd, run.scheduleOptions);
  }

  next(): void {
    const run = this.run;
    if (run.stopped) return this.finish();
    if (this.schedule) {
      const now = performance.now();
      const at = this.schedule.nextSlot(now - run.startMs);
      if (at === undefined) return this.finish();
      const slot = run.startMs + at;
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
    if (this.calls > 0 && this.made >= this.calls) return this.finish();
    if (run.durationMs > 0 && performance.now() >= run.startMs + run.durationMs) return this.finish();
    this.send(performance.now());
  }

  private send(clockStart: number): void {
    this.timer = undefined;
    if (this.run.stopped || this.pastDuration()) return this.finish();
    this.made++;
    this.started = clockStart;
    this.deadline = setTimeout(() => this.onTimeout(), this.run.timeoutMs);
    this.conn.call(this.onDoneBound);
  }

  /**
   * A fixed-rate timed loop that fell behind stops at the end of the duration, as Fortio's: after
   * at least 2 calls, and unless the call due is its last; it says so as Fortio's runOne does.
   */
  private pastDuration(): boolean {
    const run = this.run;
    if (!this.schedule || run.durationMs === 0 || performance.now() <= run.startMs + run.durationMs) return false;
    const i = this.schedule.index;
    if (i < 2 || i === this.calls - 1) return false;
    process.stderr.write(`[W] T${String(this.index).padStart(3, '0')} warning only did ${i} out of ${this.calls} calls before reaching ${goDurationText(run.durationMs)}\n`);
    return true;
  }

  private onTimeout(): void {
    this.deadline = undefined;
    const outcome = this.conn.abort();
    this.onDone(-1, 0, 0, 0, outcome || undefined);
  }

  private onDone(status: number, bodyBytes: number, headerBytes = 0, wireBytes = bodyBytes, outcome?: string): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    const now = performance.now();
    const latencyUs = (now - this.started) * 1000;
    this.run.completed(now, latencyUs, status, bodyBytes, headerBytes, wireBytes, outcome);
    // Fortio's iteration: the slot's index at a fixed rate (skipped slots count), else the call's.
    this.run.accessLog?.report(this.index, this.schedule ? this.schedule.index : this.made - 1, this.started, latencyUs / 1e6, this.run.ok(status), outcome ?? this.run.details(status));
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
  readonly ok: (status: number) => boolean;
  /** -access-log-file, opened by runLoad. */
  accessLog: AccessLog | undefined;
  readonly intervalMs: number;
  /** The loops of the whole run's plan (all -workers): each keeps qps/threads. */
  readonly threads: number;
  /** Fortio's "hasDuration" with a count: a timed run spreads its calls to the end of the duration. */
  readonly spreadToEnd: boolean;
  readonly durationMs: number;
  readonly timeoutMs: number;
  readonly scheduleOptions: LoadOptions['schedule'];
  startMs = 0;
  lastCompletion = 0;
  private finishedSlots = 0;
  /** Interrupted (SIGINT, -abort-on) before its calls or duration were done. */
  stopped = false;
  aborted = false;
  onAbort: (() => void) | undefined;
  resolve: (() => void) | undefined;

  constructor(
    private readonly o: LoadOptions,
    plan: CallPlan,
    /** The loops this process runs. */
    private readonly slots: number,
  ) {
    this.threads = plan.threads;
    this.recorder = new LatencyRecorder(o.histogram);
    this.ok = o.grpc ? grpcOk : o.socketEcho ? echoOk : httpOk;
    this.intervalMs = o.qps > 0 ? 1000 / o.qps : 0;
    this.spreadToEnd = o.calls > 0 ? o.spreadCalls : o.durationMs > 0;
    this.durationMs = o.durationMs;
    this.timeoutMs = o.timeoutMs;
    this.scheduleOptions = o.schedule;
  }

  completed(now: number, latencyUs: number, status: number, bodyBytes: number, headerBytes: number, wireBytes: number, outcome: string | undefined): void {
    this.lastCompletion = now;
    const ok = this.ok(status);
    this.recorder.record(latencyUs, status, ok, fortioSize(this.o, status, bodyBytes, wireBytes), fortioHeaderSize(this.o, ok, headerBytes), bodyBytes);
    if (outcome !== undefined) this.recorder.recordOutcome(outcome);
    const http = !this.o.grpc && !this.o.socketEcho;
    if (!ok && this.o.logErrors && http) process.stderr.write(`Non ok http code ${status}\n`);
    // Fortio's -abort-on (HTTP only): the first response with that status (-1: a socket error) ends the run.
    if (this.o.abortOn !== 0 && http && status === this.o.abortOn && !this.aborted) {
      this.aborted = true;
      this.stopped = true;
      this.onAbort?.();
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** A call's details as Fortio's runners give the access log: the HTTP status, or the gRPC outcome. */
  details(status: number): string {
    return this.o.grpc ? grpcDetails(status) : String(status);
  }

  slotFinished(): void {
    if (++this.finishedSlots === this.slots) this.resolve?.();
  }

  fraction(now: number): number {
    if (this.o.calls > 0) return this.recorder.count / this.o.calls;
    if (this.durationMs === 0) return 0;
    return Math.min(1, (now - this.startMs) / this.durationMs);
  }
}

/** The connections (for gRPC, channels) of the run one process opens: all, or a -workers process's share. */
export interface ConnectionShare {
  /** The index of the first, among all the run's. */
  first: number;
  count: number;
}

/** A tcp:// or udp:// run's connections (Fortio's TCP or UDP clients), each to its resolved peer. */
async function socketEchoConnections(o: LoadOptions, share: ConnectionShare, lookupAll?: LookupAll): Promise<LoadConnection[]> {
  const peers = await resolveSocketEcho(o.socketEcho!, share.count, share.first, new FortioResolver(o.dns, lookupAll));
  return peers.map((peer, j) => {
    const options = { payload: o.payload, thread: share.first + j, layout: o.histogram };
    return o.socketEcho!.protocol === 'tcp' ? new TcpLoadConnection(peer, options) : new UdpLoadConnection(peer, options);
  });
}

/** -grpc-method, unless -ping (which Fortio's runner checks first). */
function usesCustomMethod(o: LoadOptions): boolean {
  return o.grpc !== undefined && o.grpc.method !== '' && !o.grpc.ping;
}

/** Resolves -grpc-method over a channel of its own, as the run starts; a failure stops it with Fortio's words. */
async function customCall(o: LoadOptions, target: LoadTarget): Promise<CustomGrpcCall> {
  const channel = new GrpcChannel(target, o, -1).use();
  try {
    return await resolveCustomCall(channel.client, o.grpc!.method, o.payload.toString());
  } catch (err) {
    if (err instanceof GrpcMethodError) throw new LoadAbortedError(err.message);
    if ((err as grpc.ServiceError).code !== undefined) throw new LoadAbortedError(`failed to get method descriptor for ${o.grpc!.method}: ${grpcErrorText(grpcErrorOutcome((err as grpc.ServiceError).code))}`);
    throw err;
  } finally {
    channel.release();
  }
}

/** A LoadConnection per call loop: one per connection, or for gRPC -s streams sharing each channel. */
function connections(o: LoadOptions, target: LoadTarget, share: ConnectionShare, custom?: CustomGrpcCall): LoadConnection[] {
  const out: LoadConnection[] = [];
  if (o.grpc) {
    for (let j = share.first; j < share.first + share.count; j++) {
      const channel = new GrpcChannel(target, o, j);
      for (let s = 0; s < o.grpc.streams; s++) out.push(new GrpcLoadConnection(channel.use(), o, s === 0, j * o.grpc.streams + s, custom));
    }
    return out;
  }
  const request = http1Request(o, target);
  const h1 = { newConnectionPerCall: o.newConnection || o.http10, halfClose: o.halfClose, reuseRange: o.connectionReuse, resume: o.resume, expectNoBody: o.method === 'HEAD', fastClient: o.fastClient, layout: o.histogram, gunzip: requestsGzip(o), bufferBytes: o.httpBufferKb * 1024, checkConnectionClosedHeader: o.checkConnectionClosedHeader, warn: o.quiet ? undefined : (line: string) => void process.stderr.write(`[W] ${line}\n`) };
  for (let j = 0; j < share.count; j++) {
    if (o.http2) out.push(new H2LoadConnection(target, o));
    else if (o.followRedirects) out.push(new RedirectLoadConnection(o, h1));
    else out.push(new H1LoadConnection(target, request, h1));
  }
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
  /** The connections this process runs (a -workers process); all of them by default. */
  share?: ConnectionShare;
  /** How names resolve: the system's resolver unless given. */
  lookupAll?: LookupAll;
}

/** Runs the load described by `o` in this process; throws LoadAbortedError when it cannot start. */
export async function runLoad(o: LoadOptions, hooks: RunHooks = {}): Promise<RunResult> {
  const { progress, onStart, onAbort, stop } = hooks;
  const streams = o.grpc?.streams ?? 1;
  const plan = callPlan(o);
  const share = hooks.share ?? { first: 0, count: openedLoops(o) / streams };
  let conns: LoadConnection[];
  if (o.socketEcho) conns = await socketEchoConnections(o, share, hooks.lookupAll);
  else {
    const target = resolveTarget(o, new FortioResolver(o.dns, hooks.lookupAll));
    if (!o.grpc && target.socketPath === undefined) await checkResolves(target.host, target.resolver);
    conns = connections(o, target, share, usesCustomMethod(o) ? await customCall(o, target) : undefined);
  }
  let warmupCalls = 0;
  // Fortio warms up its health and ping calls, not a -grpc-method's (fgrpc RunGRPCTest).
  if (o.calls === 0 && !usesCustomMethod(o)) {
    try {
      // gRPC warms up each channel once, on its first stream.
      warmupCalls = await warmUp(o, o.grpc ? conns.filter((_, i) => i % streams === 0) : conns);
    } catch (err) {
      for (const c of conns) c.close();
      throw err;
    }
  }
  // As Fortio, every connection opened warms up, but only the plan's threads run.
  const firstLoop = share.first * streams;
  const running = conns.filter((_, k) => firstLoop + k < plan.threads);
  for (const c of conns.slice(running.length)) c.close();
  const run = new Run(o, plan, running.length);
  run.accessLog = o.accessLog ? openAccessLog(o.accessLog.path, o.accessLog.format) : undefined;
  run.recorder.warmupCalls = warmupCalls;
  const slots = running.map((conn, k) => new Slot(run, firstLoop + k, conn, loopCalls(plan, firstLoop + k, o.qps === 0)));
  run.onAbort = () => {
    for (const s of slots) s.stopIfIdle();
    onAbort?.();
  };
  onStart?.();
  const startTime = new Date();
  run.startMs = performance.now();
  const done = slots.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => (run.resolve = resolve));
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
  run.accessLog?.close();
  // As Fortio, the sockets of the threads that ran; its tcp and udp runners count every client they made.
  run.recorder.connections = (o.socketEcho ? conns : running).map((c) => c.sockets);
  // A fixed-rate timed run lasts at least its duration (Fortio's last call goes out as it ends), so
  // ActualQPS is the rate kept, not one inflated when that call was cut or left out.
  const endMs = o.qps > 0 && o.durationMs > 0 && !run.stopped ? Math.max(run.lastCompletion, run.startMs + o.durationMs) : run.lastCompletion;
  return { recorder: run.recorder, startTime, actualDurationMs: Math.max(endMs - run.startMs, 0.001), aborted: run.aborted };
}
