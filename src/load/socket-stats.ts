// The module binding: the global `performance` is a lazy getter, a call per read.
import { performance } from 'node:perf_hooks';
import type { HistogramLayout } from './latency-recorder.js';
import { ValueStats, type ValueStatsWire } from './value-stats.js';

export interface SocketStatsWire {
  opened: number;
  peers: Array<[string, number]>;
  connectTimes: ValueStatsWire;
  handshakes: number;
  resumed: number;
  bytesSent: number;
  bytesReceived: number;
}

/**
 * What one load connection (Fortio's thread) saw of its sockets. As Fortio's HTTP clients, it
 * counts every connect attempt, a refused one too, as a socket used (SocketCount), and times each
 * attempt in seconds (ConnectionStats); the peers are Fortio's IPCountMap.
 */
export class SocketStats {
  /** Connect attempts (for gRPC, connections established). */
  opened = 0;
  /** Attempts by peer "ip:port". */
  readonly peers = new Map<string, number>();
  /** Each attempt's time, from the dial to the connection or its failure. */
  readonly connectTimes: ValueStats;
  handshakes = 0;
  resumed = 0;
  /** Payload bytes written and read back (tcp:// and udp:// runs, the warm-up's too, as Fortio's clients count them). */
  bytesSent = 0;
  bytesReceived = 0;
  private started = -1;

  constructor(layout: HistogramLayout) {
    this.connectTimes = new ValueStats(layout.offset, layout.resolution);
  }

  /** A connect attempt starts. */
  connecting(): void {
    this.opened++;
    this.started = performance.now();
  }

  /** True between connecting() and the attempt's timing. */
  get pending(): boolean {
    return this.started >= 0;
  }

  /** Times the attempt in progress (once; later calls for the same attempt do nothing). */
  connected(): void {
    if (this.started < 0) return;
    // In whole nanoseconds, as Go's time.Since(start).Seconds().
    this.connectTimes.record(Math.round((performance.now() - this.started) * 1e6) / 1e9);
    this.started = -1;
  }

  /** Counts an attempt under its peer, as Go writes it: "127.0.0.1:80", "[::1]:80". */
  peer(ip: string, port: number): void {
    const key = `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
    this.peers.set(key, (this.peers.get(key) ?? 0) + 1);
  }

  toWire(): SocketStatsWire {
    return { opened: this.opened, peers: [...this.peers], connectTimes: this.connectTimes.toWire(), handshakes: this.handshakes, resumed: this.resumed, bytesSent: this.bytesSent, bytesReceived: this.bytesReceived };
  }

  static fromWire(w: SocketStatsWire, layout: HistogramLayout): SocketStats {
    const s = new SocketStats(layout);
    s.opened = w.opened;
    for (const [peer, n] of w.peers) s.peers.set(peer, n);
    s.connectTimes.merge(ValueStats.fromWire(w.connectTimes));
    s.handshakes = w.handshakes;
    s.resumed = w.resumed;
    s.bytesSent = w.bytesSent;
    s.bytesReceived = w.bytesReceived;
    return s;
  }
}
