import type { Histogram } from 'hdr-histogram-js';
import { BULWARK_VERSION } from '../util/version.js';
import type { LatencyRecorder } from './latency-recorder.js';
import type { LoadOptions } from './load-options.js';
import { callPlan } from './call-plan.js';
import { accessLogInfo } from './access-log.js';
import { fortioRunId } from './fortio-run-id.js';
import { goDurationText, goG } from './go-format.js';
import { fortioHttpOptions, type FortioHttpOptions } from './fortio-http-options.js';
import { grpcErrorName, grpcRetCode } from './grpc-outcome.js';
import { SERVING } from './grpc-services.js';
import type { HistogramBucket, ValueStats } from './value-stats.js';

/** Fortio's histogram JSON (stats.HistogramData): values in seconds for durations. */
export interface FortioHistogram {
  Count: number;
  Min: number;
  Max: number;
  Sum: number;
  Avg: number;
  StdDev: number;
  Data: HistogramBucket[];
  Percentiles: Array<{ Percentile: number; Value: number }>;
}

/** The fields of Fortio's periodic.RunnerResults that both run types share. */
export interface FortioRunResult {
  RunType: string;
  Labels: string;
  StartTime: string;
  RequestedQPS: string;
  RequestedDuration: string;
  ActualQPS: number;
  /** Nanoseconds, as Go's time.Duration marshals. */
  ActualDuration: number;
  NumThreads: number;
  Version: string;
  DurationHistogram: FortioHistogram;
  /** The failed calls' latencies: not 2xx (nor 418) for HTTP, not SERVING for gRPC. */
  ErrorsDurationHistogram: FortioHistogram;
  Exactly: number;
  Jitter: boolean;
  Uniform: boolean;
  NoCatchUp: boolean;
  RunID: number;
  AccessLoggerInfo: string;
  /** Fortio's run ID: start time, run ID and labels; -a saves the JSON as ID.json. */
  ID: string;
  RetCodes: Record<string, number>;
  /** Bulwark additions, ignored by Fortio's tools. */
  Bulwark: BulwarkExtras;
}

export interface BulwarkExtras {
  TargetRateReached: boolean;
  /** Calls made before the run (one per connection, without -n), as Fortio's warm-up: in no count. */
  WarmupCalls: number;
  Handshakes: number;
  ResumedHandshakes: number;
  HandshakesPerSec: number;
  BytesReceived: number;
  Protocol: string;
  /** gRPC: the failed calls by gRPC status name, which Fortio's RetCodes lump as "ERROR". */
  GrpcErrors?: Record<string, number>;
  /** gRPC: connections opened (HTTP runs have Fortio's SocketCount). */
  SocketCount?: number;
}

/** The fields of Fortio's HTTPRunnerResults that its tools read (fortio report, CSV export). */
export interface FortioResult extends FortioRunResult, Omit<FortioHttpOptions, 'URL'> {
  RunType: 'HTTP';
  /** Each call's size as Fortio's client records it: the whole response (fast client), or its body (standard client, -1 when failed). */
  Sizes: FortioHistogram;
  /** Each call's response head bytes: for an OK response from the fast client, 0 otherwise. */
  HeaderSizes: FortioHistogram;
  URL: string;
  /** Sockets used (connect attempts) per peer "ip:port". */
  IPCountMap: Record<string, number>;
  /** Sockets used by each of the -c connections. */
  Sockets: number[];
  /** Sockets used: every connect attempt, a failed one too, as Fortio counts them. */
  SocketCount: number;
  /** The connect attempts' times in seconds (the TLS handshake included for the fast client). */
  ConnectionStats: FortioHistogram;
  /** -abort-on: the status that ends the run (-1 a socket error), 0 for none. */
  AbortOn: number;
}

/** Fortio's GRPCRunnerResults: RetCodes keyed by health status name ("SERVING"), or "ERROR". */
export interface FortioGrpcResult extends FortioRunResult {
  Destination: string;
  Streams: number;
  Ping: boolean;
  /** The ping payload (Bulwark's: Fortio keeps it out of its JSON). */
  Payload: string;
}

/**
 * Fortio's tcprunner and udprunner RunnerResults: its options (of which the totals carry only the
 * Destination), RetCodes keyed by "OK" or each error's text, the sockets and the payload bytes.
 */
export interface FortioSocketEchoResult extends FortioRunResult {
  RunType: 'TCP' | 'UDP';
  Destination: string;
  /** Fortio's totals leave the payload out: always null. */
  Payload: null;
  /** TCP only; "" as Fortio's totals have it. */
  UnixDomainSocket?: string;
  /** 0 as Fortio's totals have it (the timeout went to the clients only). */
  ReqTimeout: number;
  /** Sockets opened by all the clients, the warm-up's included. */
  SocketCount: number;
  /** Payload bytes written and read back, the warm-up's included. */
  BytesSent: number;
  BytesReceived: number;
}

export function fortioResult(o: LoadOptions, r: LatencyRecorder, startTime: Date, actualDurationMs: number): FortioResult {
  const retCodes: Record<string, number> = {};
  for (const [code, n] of [...r.statusCodes].sort((a, b) => a[0] - b[0])) retCodes[String(code)] = n;
  // Bulwark's additions go last, after Fortio's fields.
  const { Bulwark, ...base } = common(o, r, startTime, actualDurationMs);
  return {
    RunType: 'HTTP',
    ...base,
    RetCodes: retCodes,
    // Most used first, as Fortio lists them.
    IPCountMap: Object.fromEntries(r.peers()),
    // Fortio's HTTPRunnerResults embeds the HTTP options here.
    ...fortioHttpOptions(o),
    Sizes: valueHistogram(r.sizes),
    HeaderSizes: valueHistogram(r.headerSizes),
    Sockets: r.connections.map((c) => c.opened),
    SocketCount: r.sockets,
    ConnectionStats: fortioPercentiles(r.connectTimes(), o.percentiles),
    AbortOn: o.abortOn,
    Bulwark,
  };
}

/** A -grpc run as Fortio's GRPCRunnerResults writes it. */
export function fortioGrpcResult(o: LoadOptions, r: LatencyRecorder, startTime: Date, actualDurationMs: number): FortioGrpcResult {
  const g = o.grpc!;
  const retCodes: Record<string, number> = {};
  const errors: Record<string, number> = {};
  // SERVING first, then the other statuses, then the errors.
  const rank = (outcome: number): number => (outcome === SERVING ? -1 : outcome < 0 ? 100 - outcome : outcome);
  for (const [outcome, n] of [...r.statusCodes].sort((a, b) => rank(a[0]) - rank(b[0]))) {
    const key = grpcRetCode(outcome);
    retCodes[key] = (retCodes[key] ?? 0) + n;
    if (outcome < 0) errors[grpcErrorName(outcome)] = (errors[grpcErrorName(outcome)] ?? 0) + n;
  }
  const custom = !g.ping && g.method !== '';
  const payload = g.ping || custom ? o.payload.toString() : '';
  const { Bulwark, ...base } = common(o, r, startTime, actualDurationMs);
  // Fortio's RunType: "GRPC Ping[ Delay=1ms]", "Custom GRPC Method S/M and Payload P" or "GRPC Health for 'service'", then " PayloadLength=N".
  let runType = g.ping ? `GRPC Ping${g.pingDelayMs > 0 ? ` Delay=${goDurationText(g.pingDelayMs)}` : ''}` : custom ? `Custom GRPC Method ${g.method} and Payload ${payload}` : `GRPC Health for '${g.healthService}'`;
  if (payload.length > 0) runType += ` PayloadLength=${payload.length}`;
  return {
    RunType: runType,
    ...base,
    RetCodes: retCodes,
    Destination: g.destination,
    Streams: g.streams,
    Ping: g.ping,
    Payload: payload,
    Bulwark: { ...Bulwark, Protocol: 'gRPC', GrpcErrors: errors, SocketCount: r.sockets },
  };
}

/** A tcp:// or udp:// run as Fortio's tcprunner or udprunner writes it. */
export function fortioSocketEchoResult(o: LoadOptions, r: LatencyRecorder, startTime: Date, actualDurationMs: number): FortioSocketEchoResult {
  const tcp = o.socketEcho!.protocol === 'tcp';
  // Go marshals a map with its keys sorted.
  const retCodes = Object.fromEntries([...r.outcomes].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  const { Bulwark, ...base } = common(o, r, startTime, actualDurationMs);
  return {
    RunType: tcp ? 'TCP' : 'UDP',
    ...base,
    Destination: o.socketEcho!.destination,
    Payload: null,
    ...(tcp ? { UnixDomainSocket: '' } : {}),
    ReqTimeout: 0,
    RetCodes: retCodes,
    SocketCount: r.sockets,
    BytesSent: r.connections.reduce((n, c) => n + c.bytesSent, 0),
    BytesReceived: r.connections.reduce((n, c) => n + c.bytesReceived, 0),
    Bulwark: { ...Bulwark, Protocol: tcp ? 'TCP' : 'UDP' },
  };
}

function common(o: LoadOptions, r: LatencyRecorder, startTime: Date, actualDurationMs: number): Omit<FortioRunResult, 'RunType' | 'RetCodes'> {
  const actualQps = r.count / (actualDurationMs / 1000);
  return {
    Labels: o.labels,
    StartTime: startTime.toISOString(),
    // As Fortio's %.9g.
    RequestedQPS: o.qps === 0 ? 'max' : goG(o.qps, 9),
    RequestedDuration: requestedDuration(o, r.count),
    ActualQPS: actualQps,
    ActualDuration: Math.round(actualDurationMs * 1e6),
    NumThreads: fortioThreads(o),
    Version: `bulwark-${BULWARK_VERSION}`,
    DurationHistogram: durationHistogram(r.durations, r.histogram, o.percentiles),
    ErrorsDurationHistogram: durationHistogram(r.errorDurations, r.errorHistogram, o.percentiles),
    Exactly: o.calls,
    Jitter: o.schedule.jitter,
    Uniform: o.schedule.uniform,
    NoCatchUp: o.schedule.noCatchUp,
    RunID: o.runId,
    AccessLoggerInfo: accessLogInfo(o),
    ID: fortioRunId(startTime, o.runId, o.labels),
    Bulwark: {
      TargetRateReached: o.qps === 0 || actualQps >= o.qps * 0.95,
      WarmupCalls: r.warmupCalls,
      Handshakes: r.handshakes,
      ResumedHandshakes: r.resumedHandshakes,
      HandshakesPerSec: (r.handshakes + r.resumedHandshakes) / (actualDurationMs / 1000),
      BytesReceived: r.bytesReceived,
      Protocol: o.http2 ? 'HTTP/2' : 'HTTP/1.1',
    },
  };
}

/** Fortio's NumThreads: the loops that ran (callPlan), fewer than opened when there were few calls for each. */
export function fortioThreads(o: LoadOptions): number {
  return callPlan(o).threads;
}

/** Fortio's RequestedDuration: "exactly N calls" (", interrupted after M" when stopped short), a Go duration, or "until stop". */
function requestedDuration(o: LoadOptions, count: number): string {
  if (o.calls === 0) return o.durationMs > 0 ? goDurationText(o.durationMs) : 'until stop';
  return `exactly ${o.calls} calls${count !== o.calls ? `, interrupted after ${count}` : ''}`;
}

/** A latency histogram in seconds: Fortio's buckets, and exact percentiles bounded by Min and Max. */
function durationHistogram(stats: ValueStats, exact: Histogram, percentiles: number[]): FortioHistogram {
  const h = valueHistogram(stats);
  if (stats.count === 0) return h;
  const us = (p: number): number => Math.min(Math.max(exact.getValueAtPercentile(p) / 1e6, stats.min), stats.max);
  return { ...h, Percentiles: percentiles.map((p) => ({ Percentile: p, Value: us(p) })) };
}

/** Fortio's HistogramData with its percentiles, interpolated in its buckets (HistogramData.CalcPercentiles). */
export function fortioPercentiles(s: ValueStats, percentiles: number[]): FortioHistogram {
  const h = valueHistogram(s);
  if (s.count === 0) return h;
  return { ...h, Percentiles: percentiles.map((p) => ({ Percentile: p, Value: s.percentile(p, h.Data) })) };
}

/** Fortio's HistogramData of a series (no percentiles: Fortio computes none for sizes). */
function valueHistogram(s: ValueStats): FortioHistogram {
  return { Count: s.count, Min: s.min, Max: s.max, Sum: s.sum, Avg: s.avg, StdDev: s.stdDev, Data: s.data(), Percentiles: [] };
}
