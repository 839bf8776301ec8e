import { fork, type ChildProcess } from 'node:child_process';
import { LatencyRecorder, type RecorderWire } from './latency-recorder.js';
import type { LoadOptions } from './load-options.js';
import { openedLoops } from './call-plan.js';
import { runLoad, type ConnectionShare, type RunResult } from './load-runner.js';
import { LoadAbortedError } from './load-aborted-error.js';

const WORKER_ENV = 'BULWARK_LOAD_WORKER';

interface WorkerReport {
  wire: RecorderWire;
  startTime: string;
  actualDurationMs: number;
  aborted: boolean;
}

/** Sent by a worker as soon as a response with the -abort-on status ends its share. */
const ABORTED = 'aborted';
/** Sent by the parent to the other workers then: stop as on ^C (a signal could come before the run listens). */
const STOP = 'stop';

/** Sent by a worker whose share could not start (a failed warm-up call): the LoadAbortedError's message. */
interface CannotStart {
  cannotStart: string;
}

/** True in a child started by runInWorkers; it runs its share and reports back. */
export function isLoadWorker(): boolean {
  return process.env[WORKER_ENV] !== undefined;
}

/**
 * This worker's share of the run: its part of the connections (at least one each). The calls and
 * the rate stay the whole run's: each connection makes what the run's plan gives it (callPlan).
 */
export function workerShare(o: LoadOptions, index: number, n: number): ConnectionShare {
  const total = openedLoops(o) / (o.grpc?.streams ?? 1);
  const base = Math.floor(total / n);
  const extra = total % n;
  return { first: index * base + Math.min(index, extra), count: base + (index < extra ? 1 : 0) };
}

/** Runs the worker's share and sends the result to the parent. */
export async function runAsWorker(o: LoadOptions): Promise<void> {
  const [index, n] = process.env[WORKER_ENV]!.split('/').map(Number) as [number, number];
  const stop = new AbortController();
  const onMessage = (m: unknown): void => {
    if (m === STOP) stop.abort();
  };
  process.on('message', onMessage);
  let message: WorkerReport | CannotStart;
  try {
    const r = await runLoad(o, { onAbort: () => process.send!(ABORTED), stop: stop.signal, share: workerShare(o, index, n) });
    message = { wire: r.recorder.toWire(), startTime: r.startTime.toISOString(), actualDurationMs: r.actualDurationMs, aborted: r.aborted };
  } catch (err) {
    if (!(err instanceof LoadAbortedError)) throw err;
    message = { cannotStart: err.message };
  }
  process.off('message', onMessage);
  await new Promise<void>((resolve) => process.send!(message, () => resolve()));
}

function ignoreSendError(): void {}

/** Forks `o.workers` copies of this command (same arguments) and merges their histograms. */
export async function runInWorkers(o: LoadOptions, args: string[]): Promise<RunResult> {
  const children: ChildProcess[] = [];
  const reports = await Promise.all(
    Array.from({ length: o.workers }, (_, i) =>
      new Promise<WorkerReport>((resolve, reject) => {
        const child = fork(process.argv[1]!, ['load', ...args], { env: { ...process.env, [WORKER_ENV]: `${i}/${o.workers}` }, execArgv: process.execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        children.push(child);
        let report: WorkerReport | undefined;
        child.on('message', (m: WorkerReport | CannotStart | typeof ABORTED) => {
          if (typeof m === 'object' && 'cannotStart' in m) {
            // As Fortio, nothing runs when a connection fails its warm-up: the other workers end too.
            reject(new LoadAbortedError(m.cannotStart));
            for (const c of children) if (c !== child) c.kill();
            return;
          }
          if (m !== ABORTED) {
            report = m;
            return;
          }
          // One worker's abort ends the whole run: the others stop as on ^C and report what they did.
          // A worker may be ending on its own as this goes out: its channel then refuses the write (EPIPE),
          // which is harmless here; unheard, that error would end this process.
          for (const c of children) if (c !== child && c.connected) c.send(STOP, ignoreSendError);
        });
        // A message a worker can no longer take is settled by its exit; a worker that never started has none.
        child.on('error', (err) => {
          if (child.pid === undefined) reject(err);
        });
        child.on('exit', (code) => (report ? resolve(report) : reject(new Error(`load worker ${i} exited with ${code} before reporting`))));
      }),
    ),
  );
  const recorder = new LatencyRecorder(o.histogram);
  for (const r of reports) recorder.merge(LatencyRecorder.fromWire(r.wire));
  const startTime = new Date(Math.min(...reports.map((r) => Date.parse(r.startTime))));
  return { recorder, startTime, actualDurationMs: Math.max(...reports.map((r) => r.actualDurationMs)), aborted: reports.some((r) => r.aborted) };
}
