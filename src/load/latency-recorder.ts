import * as hdr from 'hdr-histogram-js';

/** Microseconds: the histogram's unit. Fortio reports seconds. */
const MAX_TRACKABLE_US = 3_600_000_000;

/** Bucket upper bounds in µs for Fortio's histogram Data: 1, 1.5, 2, 3, 5, 7.5 per decade up to an hour. */
export const BUCKET_BOUNDS_US: readonly number[] = (() => {
  const out: number[] = [];
  for (let decade = 1; decade <= 1e9; decade *= 10) for (const m of [1, 1.5, 2, 3, 5, 7.5]) out.push(m * decade);
  return out;
})();

function bucketOf(us: number): number {
  let lo = 0;
  let hi = BUCKET_BOUNDS_US.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (BUCKET_BOUNDS_US[mid]! >= us) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** What one run (or one worker of it) observed: latency histogram, status codes, sizes, errors. */
export class LatencyRecorder {
  readonly histogram: hdr.Histogram;
  readonly sizes: hdr.Histogram;
  readonly statusCodes = new Map<number, number>();
  errors = 0;
  bytesReceived = 0;
  bytesSent = 0;
  sockets = 0;
  handshakes = 0;
  resumedHandshakes = 0;
  sum = 0;
  sumOfSquares = 0;
  /** Calls per latency bucket (BUCKET_BOUNDS_US). */
  readonly buckets = new Float64Array(BUCKET_BOUNDS_US.length);

  constructor() {
    this.histogram = newHistogram();
    this.sizes = newHistogram();
  }

  /** Records one call: latency in microseconds, status (-1 for a transport error), response body bytes. */
  record(latencyUs: number, status: number, responseBytes: number): void {
    const v = Math.max(1, Math.min(Math.round(latencyUs), MAX_TRACKABLE_US));
    this.histogram.recordValue(v);
    this.sum += v;
    this.sumOfSquares += v * v;
    this.buckets[bucketOf(v)]!++;
    this.statusCodes.set(status, (this.statusCodes.get(status) ?? 0) + 1);
    if (status < 0) this.errors++;
    // Every call, failed ones as 0 bytes, as Fortio's Sizes histogram counts them.
    this.sizes.recordValue(responseBytes);
    this.bytesReceived += responseBytes;
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** Adds another recorder's observations (from another worker). */
  merge(other: LatencyRecorder): void {
    this.histogram.add(other.histogram);
    this.sizes.add(other.sizes);
    for (const [code, n] of other.statusCodes) this.statusCodes.set(code, (this.statusCodes.get(code) ?? 0) + n);
    this.errors += other.errors;
    this.bytesReceived += other.bytesReceived;
    this.bytesSent += other.bytesSent;
    this.sockets += other.sockets;
    this.handshakes += other.handshakes;
    this.resumedHandshakes += other.resumedHandshakes;
    this.sum += other.sum;
    this.sumOfSquares += other.sumOfSquares;
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i]! += other.buckets[i]!;
  }

  /** A plain object that crosses a process boundary. */
  toWire(): RecorderWire {
    return {
      histogram: hdr.encodeIntoCompressedBase64(this.histogram),
      sizes: hdr.encodeIntoCompressedBase64(this.sizes),
      statusCodes: [...this.statusCodes],
      errors: this.errors,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      sockets: this.sockets,
      handshakes: this.handshakes,
      resumedHandshakes: this.resumedHandshakes,
      sum: this.sum,
      sumOfSquares: this.sumOfSquares,
      buckets: [...this.buckets],
    };
  }

  static fromWire(w: RecorderWire): LatencyRecorder {
    const r = new LatencyRecorder();
    r.histogram.add(hdr.decodeFromCompressedBase64(w.histogram, 32, false));
    r.sizes.add(hdr.decodeFromCompressedBase64(w.sizes, 32, false));
    for (const [code, n] of w.statusCodes) r.statusCodes.set(code, n);
    r.buckets.set(w.buckets);
    Object.assign(r, { errors: w.errors, bytesReceived: w.bytesReceived, bytesSent: w.bytesSent, sockets: w.sockets, handshakes: w.handshakes, resumedHandshakes: w.resumedHandshakes, sum: w.sum, sumOfSquares: w.sumOfSquares });
    return r;
  }
}

export interface RecorderWire {
  histogram: string;
  sizes: string;
  statusCodes: Array<[number, number]>;
  errors: number;
  bytesReceived: number;
  bytesSent: number;
  sockets: number;
  handshakes: number;
  resumedHandshakes: number;
  sum: number;
  sumOfSquares: number;
  buckets: number[];
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: MAX_TRACKABLE_US, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}
