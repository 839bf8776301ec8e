import * as hdr from 'hdr-histogram-js';
import { SocketStats, type SocketStatsWire } from './socket-stats.js';
import { ValueStats, type ValueStatsWire } from './value-stats.js';

/** Microseconds: the percentile histograms' unit. Fortio reports seconds. */
const MAX_TRACKABLE_US = 3_600_000_000;

/** Fortio's dividers for its size histograms' buckets: 100 bytes for responses, 5 for heads. */
const SIZE_DIVIDER = 100;
const HEADER_SIZE_DIVIDER = 5;

/** Fortio's -r and -offset: the duration histograms' bucket width and shift, in seconds. */
export interface HistogramLayout {
  resolution: number;
  offset: number;
}

/** What one run (or one worker of it) observed: latencies (all and failed), status codes, sizes. */
export class LatencyRecorder {
  /** Exact percentiles of every call's latency, in µs. */
  readonly histogram: hdr.Histogram;
  /** The same for the failed calls (Fortio's ErrorsDurationHistogram). */
  readonly errorHistogram: hdr.Histogram;
  /** Latencies in seconds, in Fortio's buckets. */
  readonly durations: ValueStats;
  readonly errorDurations: ValueStats;
  readonly sizes = new ValueStats(0, SIZE_DIVIDER);
  readonly headerSizes = new ValueStats(0, HEADER_SIZE_DIVIDER);
  /** At a fixed rate, each wait for a call's slot in seconds, negative when late (Fortio's sleep times, 1 ms buckets from -1 ms). */
  readonly sleepTimes = new ValueStats(-0.001, 0.001);
  readonly statusCodes = new Map<number, number>();
  /** tcp:// and udp:// calls by outcome as Fortio's runners name it ("OK", or the error's text): their RetCodes. */
  readonly outcomes = new Map<string, number>();
  bytesReceived = 0;
  bytesSent = 0;
  /** Calls made before the run, counted nowhere else (Fortio's warm-up). */
  warmupCalls = 0;
  /** Each connection's sockets, in order (for gRPC, each stream's: the channel's on its first). */
  connections: SocketStats[] = [];

  constructor(readonly layout: HistogramLayout = { resolution: 0.001, offset: 0 }) {
    this.histogram = newHistogram();
    this.errorHistogram = newHistogram();
    this.durations = new ValueStats(layout.offset, layout.resolution);
    this.errorDurations = new ValueStats(layout.offset, layout.resolution);
  }

  /**
   * Records one call: latency in microseconds, status (-1 for a transport error), whether it
   * succeeded (Fortio's runner's OK: 2xx or 418, gRPC SERVING), its size and header size as
   * Fortio's client records them, and its response body's bytes.
   */
  record(latencyUs: number, status: number, ok: boolean, size: number, headerSize: number, bodyBytes: number): void {
    const v = Math.max(1, Math.min(Math.round(latencyUs), MAX_TRACKABLE_US));
    this.histogram.recordValue(v);
    this.durations.record(v / 1e6);
    if (!ok) {
      this.errorHistogram.recordValue(v);
      this.errorDurations.record(v / 1e6);
    }
    this.statusCodes.set(status, (this.statusCodes.get(status) ?? 0) + 1);
    // Every call, failed ones too, as Fortio's Sizes histogram counts them.
    this.sizes.record(size);
    this.headerSizes.record(headerSize);
    this.bytesReceived += bodyBytes;
  }

  /** Counts a tcp:// or udp:// call's outcome, besides its status. */
  recordOutcome(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** Sockets used (connect attempts): Fortio's SocketCount. */
  get sockets(): number {
    return this.connections.reduce((n, c) => n + c.opened, 0);
  }

  /** Attempts by peer "ip:port", most used first: Fortio's IPCountMap. */
  peers(): Map<string, number> {
    const all = new Map<string, number>();
    for (const c of this.connections) for (const [peer, n] of c.peers) all.set(peer, (all.get(peer) ?? 0) + n);
    return new Map([...all].sort((a, b) => b[1] - a[1]));
  }

  /** Every connect attempt's time: Fortio's ConnectionStats. */
  connectTimes(): ValueStats {
    const all = new ValueStats(this.layout.offset, this.layout.resolution);
    for (const c of this.connections) all.merge(c.connectTimes);
    return all;
  }

  get handshakes(): number {
    return this.connections.reduce((n, c) => n + c.handshakes, 0);
  }

  get resumedHandshakes(): number {
    return this.connections.reduce((n, c) => n + c.resumed, 0);
  }

  /** Adds another recorder's observations (from another worker). */
  merge(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
    this.errorHistogram.add(other.errorHistogram);
    this.durations.merge(other.durations);
    this.errorDurations.merge(other.errorDurations);
    this.sizes.merge(other.sizes);
    this.headerSizes.merge(other.headerSizes);
    this.sleepTimes.merge(other.sleepTimes);
    for (const [code, n] of other.statusCodes) this.statusCodes.set(code, (this.statusCodes.get(code) ?? 0) + n);
    for (const [outcome, n] of other.outcomes) this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + n);
    this.bytesReceived += other.bytesReceived;
    this.bytesSent += other.bytesSent;
    this.warmupCalls += other.warmupCalls;
    this.connections.push(...other.connections);
  }

  /** A plain object that crosses a process boundary. */
  toWire(): RecorderWire {
    return {
      layout: this.layout,
      histogram: hdr.encodeIntoCompressedBase64(this.histogram),
      errorHistogram: hdr.encodeIntoCompressedBase64(this.errorHistogram),
      durations: this.durations.toWire(),
      errorDurations: this.errorDurations.toWire(),
      sizes: this.sizes.toWire(),
      headerSizes: this.headerSizes.toWire(),
      sleepTimes: this.sleepTimes.toWire(),
      statusCodes: [...this.statusCodes],
      outcomes: [...this.outcomes],
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      warmupCalls: this.warmupCalls,
      connections: this.connections.map((c) => c.toWire()),
    };
  }

  static fromWire(w: RecorderWire): LatencyRecorder {
    const r = new LatencyRecorder(w.layout);
    r.histogram.add(hdr.decodeFromCompressedBase64(w.histogram, 32, false));
    r.errorHistogram.add(hdr.decodeFromCompressedBase64(w.errorHistogram, 32, false));
    r.durations.merge(ValueStats.fromWire(w.durations));
    r.errorDurations.merge(ValueStats.fromWire(w.errorDurations));
    r.sizes.merge(ValueStats.fromWire(w.sizes));
    r.headerSizes.merge(ValueStats.fromWire(w.headerSizes));
    r.sleepTimes.merge(ValueStats.fromWire(w.sleepTimes));
    for (const [code, n] of w.statusCodes) r.statusCodes.set(code, n);
    for (const [outcome, n] of w.outcomes) r.outcomes.set(outcome, n);
    r.connections = w.connections.map((c) => SocketStats.fromWire(c, w.layout));
    Object.assign(r, { bytesReceived: w.bytesReceived, bytesSent: w.bytesSent, warmupCalls: w.warmupCalls });
    return r;
  }
}

export interface RecorderWire {
  layout: HistogramLayout;
  histogram: string;
  errorHistogram: string;
  durations: ValueStatsWire;
  errorDurations: ValueStatsWire;
  sizes: ValueStatsWire;
  headerSizes: ValueStatsWire;
  sleepTimes: ValueStatsWire;
  statusCodes: Array<[number, number]>;
  outcomes: Array<[string, number]>;
  bytesReceived: number;
  bytesSent: number;
  warmupCalls: number;
  connections: SocketStatsWire[];
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: MAX_TRACKABLE_US, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}
