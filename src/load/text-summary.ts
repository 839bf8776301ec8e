import { BULWARK_VERSION } from '../util/version.js';
import { callPlan } from './call-plan.js';
import { accessLogInfo } from './access-log.js';
import { fortioPercentiles, type FortioGrpcResult, type FortioHistogram, type FortioResult, type FortioSocketEchoResult } from './fortio-json.js';
import { goDurationText, goG } from './go-format.js';
import type { LatencyRecorder } from './latency-recorder.js';
import type { LoadOptions } from './load-options.js';
import type { SocketStats } from './socket-stats.js';
import type { ValueStats } from './value-stats.js';

/** Fortio's Counter.Print: one line, of a histogram's JSON or of a series. */
function counterLine(label: string, h: Pick<FortioHistogram, 'Count' | 'Avg' | 'StdDev' | 'Min' | 'Max' | 'Sum'> | ValueStats): string {
  const c = 'Count' in h ? h : { Count: h.count, Avg: h.avg, StdDev: h.stdDev, Min: h.min, Max: h.max, Sum: h.sum };
  return `${label} : count ${c.Count} avg ${goG(c.Avg, 8)} +/- ${goG(c.StdDev, 4)} min ${goG(c.Min)} max ${goG(c.Max)} sum ${goG(c.Sum, 9)}`;
}

/**
 * Fortio's sleep times at a fixed rate: their counter, or when more than 5 % of the waits came a
 * millisecond or more late, their histogram and its warning (periodic.go Run).
 */
function sleepLines(s: ValueStats): string[] {
  const late = (100 * s.atOrBelowOffset) / s.count;
  if (!(late > 5)) return [counterLine('Sleep times', s)];
  return [...histogramLines('Aggregated Sleep Time', fortioPercentiles(s, [50])), `WARNING ${late.toFixed(2)}% of sleep were falling behind`];
}

/** Fortio's HistogramData.Print: the counter line, the buckets, the percentiles. */
function histogramLines(label: string, h: FortioHistogram): string[] {
  if (h.Count === 0) return [`${label} : no data`];
  const lines = [counterLine(label, h)];
  if (h.Data.length > 0) lines.push('# range, mid point, percentile, count');
  h.Data.forEach((b, i) => lines.push(`${i === 0 ? '>=' : '>'} ${goG(b.Start, 6)} <= ${goG(b.End, 6)} , ${goG((b.Start + b.End) / 2, 6)} , ${b.Percent.toFixed(2)}, ${b.Count}`));
  for (const p of h.Percentiles) lines.push(`# target ${goG(p.Percentile)}% ${goG(p.Value, 6)}`);
  return lines;
}

/** Fortio's first line: the rate asked for, the processes before and after -gomaxprocs (Fortio's GOMAXPROCS, here -workers), how long, the target. */
export function bannerLine(o: LoadOptions): string {
  const how = o.calls > 0 ? `for ${o.calls} calls` : o.durationMs > 0 ? `for ${goDurationText(o.durationMs)}` : 'until interrupted';
  return `Bulwark ${BULWARK_VERSION} running at ${goG(o.qps)} queries per second, ${o.workersBefore}->${o.workers} procs, ${how}: ${o.grpc?.destination ?? o.socketEcho?.destination ?? o.url.href}\n`;
}

/**
 * Fortio's lines as the timed run starts (after the warm-up): its warnings about the split, then
 * how the calls split among the threads (periodic.go runQPSSetup, runMaxQPSSetup).
 */
export function startingLine(o: LoadOptions): string {
  const plan = callPlan(o);
  const warnings = plan.warnings.map((w) => `[W] ${w}\n`).join('');
  // Fortio ends each form of the line with its access logger.
  const extra = o.accessLog ? ` with access logger ${accessLogInfo(o)}` : '';
  const head = `Starting at ${o.qps > 0 ? `${goG(o.qps)} qps` : 'max qps'} with ${plan.threads} thread(s) [gomax ${o.workers}]`;
  if (o.calls === 0 && o.durationMs === 0) return `${head} until interrupted${extra}\n`;
  const duration = goDurationText(o.durationMs);
  const { perThread, leftOver } = plan;
  if (o.qps === 0) return o.calls > 0 ? `${head} for exactly ${o.calls} calls (${perThread} per thread + ${leftOver})${extra}\n` : `${head} for ${duration}${extra}\n`;
  const total = perThread * plan.threads;
  return warnings + (o.calls > 0 ? `${head} : exactly ${o.calls}, ${perThread} calls each (total ${total} + ${leftOver})${extra}\n` : `${head} for ${duration} : ${perThread} calls each (total ${total})${extra}\n`);
}

/** Fortio's line for one connection (thread): its sockets, the peers they went to, their connect times. */
function connectionLine(i: number, c: SocketStats): string {
  // As Fortio's Occurrence.AggregateAndToString: the one peer alone, or each with its count in brackets.
  const peers = c.peers.size === 1 ? [...c.peers.keys()][0]! : `[${[...c.peers].map(([peer, n]) => `${peer} (${n})`).join(', ')}]`;
  return `[${i}] ${String(c.opened).padStart(3)} socket used, resolved to ${peers}${counterLine(', connection timing', c.connectTimes)}`;
}

function isSocketEcho(r: FortioResult | FortioGrpcResult | FortioSocketEchoResult): r is FortioSocketEchoResult {
  return r.RunType === 'TCP' || r.RunType === 'UDP';
}

/** The lines Fortio's tcp and udp runners add: sockets, bytes, and each outcome with its share (sorted). */
function socketEchoLines(r: FortioSocketEchoResult): string[] {
  const count = r.DurationHistogram.Count;
  const prefix = r.RunType.toLowerCase();
  return [
    `Sockets used: ${r.SocketCount} (for perfect no error run, would be ${r.NumThreads})`,
    `Total Bytes sent: ${r.BytesSent}, received: ${r.BytesReceived}`,
    // Go's %.1f of 0/0 is NaN.
    ...Object.entries(r.RetCodes).map(([outcome, n]) => `${prefix} ${outcome} : ${n} (${count === 0 ? 'NaN' : ((100 * n) / count).toFixed(1)} %)`),
  ];
}

/**
 * Fortio's end-of-run text (durations in seconds), so people and scripts used to it read it as is;
 * from the results, and the recorder for what they do not hold (sleep times, each connection's sockets).
 */
export function textSummary(r: FortioResult | FortioGrpcResult | FortioSocketEchoResult, recorder: LatencyRecorder): string {
  const h = r.DurationHistogram;
  const lines = [
    `Ended after ${goDurationText(r.ActualDuration / 1e6)} : ${h.Count} calls. qps=${goG(r.ActualQPS, 5)}`,
    ...(r.RequestedQPS === 'max' ? [] : sleepLines(recorder.sleepTimes)),
    ...histogramLines('Aggregated Function Time', h),
    ...histogramLines('Error cases', r.ErrorsDurationHistogram),
  ];
  if (isSocketEcho(r)) {
    lines.push(...socketEchoLines(r));
  } else if ('Ping' in r) {
    // Fortio's gRPC runner: "Ping SERVING : 300", "Custom gRPC Method SERVING : 300" or "Health SERVING : 300", "ERROR" for failed calls.
    const which = r.Ping ? 'Ping' : r.RunType.startsWith('Custom GRPC Method') ? 'Custom gRPC Method' : 'Health';
    lines.push(`Jitter: ${r.Jitter}`, ...Object.entries(r.RetCodes).map(([code, n]) => `${which} ${code} : ${n}`));
    const errors = Object.entries(r.Bulwark.GrpcErrors ?? {});
    if (errors.length > 0) lines.push(`gRPC errors : ${errors.map(([name, n]) => `${name} ${n}`).join(', ')}`);
  } else {
    lines.push(
      '# Socket and IP used for each connection:',
      ...recorder.connections.map((c, i) => connectionLine(i, c)),
      ...histogramLines('Connection time histogram (s)', r.ConnectionStats),
      `Sockets used: ${r.SocketCount} (for perfect keepalive, would be ${r.NumThreads})`,
      `Uniform: ${r.Uniform}, Jitter: ${r.Jitter}, Catchup allowed: ${!r.NoCatchUp}`,
      'IP addresses distribution:',
      ...Object.entries(r.IPCountMap).map(([peer, n]) => `${peer}: ${n}`),
      ...Object.entries(r.RetCodes).map(([code, n]) => `Code ${code.padStart(3)} : ${n} (${((100 * n) / Math.max(h.Count, 1)).toFixed(1)} %)`),
      // Fortio's default log level prints the sizes' counters only.
      counterLine('Response Header Sizes', r.HeaderSizes),
      counterLine('Response Body/Total Sizes', r.Sizes),
    );
  }
  if (r.Bulwark.Handshakes + r.Bulwark.ResumedHandshakes > 0) {
    lines.push(`TLS handshakes : ${r.Bulwark.Handshakes} full, ${r.Bulwark.ResumedHandshakes} resumed, ${r.Bulwark.HandshakesPerSec.toFixed(1)}/s`);
  }
  if (!r.Bulwark.TargetRateReached) lines.push(`WARNING: target rate not reached: ${r.ActualQPS.toFixed(1)} of ${r.RequestedQPS} qps (the server or the client is saturated)`);
  lines.push(`All done ${h.Count} calls (plus ${r.Bulwark.WarmupCalls} warmup) ${(h.Avg * 1000).toFixed(3)} ms avg, ${r.ActualQPS.toFixed(1)} qps`);
  return lines.join('\n') + '\n';
}
