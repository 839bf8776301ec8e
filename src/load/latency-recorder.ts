import * as hdr from 'hdr-histogram-js';
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
  readonly statusCodes = new Map<number, number>();
  /** Transport errors (status -1), for the exit code. */
  errors = 0;
  bytesReceived = 0;
  bytesSent = 0;
  sockets = 0;
  /** Sockets opened by each connection, in order (Fortio's Sockets). */
  socketsPerConnection: number[] = [];
  /** Sockets opened per peer "ip:port" (Fortio's IPCountMap). */
  readonly peers = new Map<string, number>();
  handshakes = 0;
  resumedHandshakes = 0;

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
    if (status < 0) this.errors++;
    // Every call, failed ones too, as Fortio's Sizes histogram counts them.
    this.sizes.record(size);
    this.headerSizes.record(headerSize);
    this.bytesReceived += bodyBytes;
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** Adds another recorder's observations (from another worker). */
  merge(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
    this.errorHistogram.add(other.errorHistogram);
    this.durations.merge(other.durations);
    this.errorDurations.merge(other.errorDurations);
    this.sizes.merge(other.sizes);
    this.headerSizes.merge(other.headerSizes);
    for (const [code, n] of other.statusCodes) this.statusCodes.set(code, (this.statusCodes.get(code) ?? 0) + n);
    this.errors += other.errors;
    this.bytesReceived += other.bytesReceived;
    this.bytesSent += other.bytesSent;
    this.sockets += other.sockets;
    this.socketsPerConnection.push(...other.socketsPerConnection);
    for (const [peer, n] of other.peers) this.peers.set(peer, (this.peers.get(peer) ?? 0) + n);
    this.handshakes += other.handshakes;
    this.resumedHandshakes += other.resumedHandshakes;
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
      statusCodes: [...this.statusCodes],
      errors: this.errors,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      sockets: this.sockets,
      socketsPerConnection: this.socketsPerConnection,
      peers: [...this.peers],
      handshakes: this.handshakes,
      resumedHandshakes: this.resumedHandshakes,
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
    for (const [code, n] of w.statusCodes) r.statusCodes.set(code, n);
    for (const [peer, n] of w.peers) r.peers.set(peer, n);
    r.socketsPerConnection = w.socketsPerConnection;
    Object.assign(r, { errors: w.errors, bytesReceived: w.bytesReceived, bytesSent: w.bytesSent, sockets: w.sockets, handshakes: w.handshakes, resumedHandshakes: w.resumedHandshakes });
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
  statusCodes: Array<[number, number]>;
  errors: number;
  bytesReceived: number;
  bytesSent: number;
  sockets: number;
  socketsPerConnection: number[];
  peers: Array<[string, number]>;
  handshakes: number;
  resumedHandshakes: number;
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: MAX_TRACKABLE_US, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}
