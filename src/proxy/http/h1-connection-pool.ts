import type { Socket } from 'node:net';
import type { ReadHandler } from './read-slab.js';
import { H1UpstreamConnection, type ConnectionOwner, type UpstreamExchange } from './h1-upstream-connection.js';
import { CONNECT_TIMEOUT } from './upstream-reset-reason.js';

/** Opens a transport to one endpoint; resolves readiness through the socket's connect / secureConnect event. */
export interface TransportConnector {
  /** The event that means the socket is ready for bytes: 'connect' for TCP, 'secureConnect' for TLS. */
  readonly readyEvent: 'connect' | 'secureConnect';
  /**
   * Opens the transport. With `onData`, a connector that can deliver reads without 'data' events
   * (plain TCP, through Node's `onread`) hands every read to it; the others ignore it.
   */
  connect(address: string, port: number, onData?: ReadHandler): Socket;
  /** Whether connect() delivers reads to `onData` instead of emitting 'data'. */
  readonly deliversReads?: boolean;
}

export interface PoolLimits {
  connectTimeout: number;
  idleTimeout: number;
  maxRequestsPerConnection: number;
  /** The cluster's circuit breakers: connections and pending requests across all its hosts' pools. */
  maxConnections: number;
  maxPendingRequests: number;
}

/** Counters the metrics layer reads; one object per cluster, shared by its pools (the breakers read it too). */
export interface PoolStats {
  /** Open connections of this process. */
  connectionsActive: number;
  connectionsTotal: number;
  connectFailures: number;
  /** Requests of this process waiting for a connection. */
  pending: number;
  pendingOverflow: number;
  /** Times the maxConnections breaker kept a connection from opening (Envoy's upstream_cx_overflow). */
  connectionOverflow: number;
  /** Open connections to the cluster across every worker: what maxConnections bounds. */
  connectionsAcrossWorkers(): number;
  /** Waiting requests across every worker: what maxPendingRequests bounds. */
  pendingAcrossWorkers(): number;
}

/**
 * Whether a host's pool may open another connection under the cluster's maxConnections breaker,
 * counted across the cluster's hosts in its stats. A host without a usable connection may always
 * open one, as in Envoy, so requests queued for it are never left with no connection to wait for.
 */
export function mayOpenConnection(stats: PoolStats, maxConnections: number, hostHasConnection: boolean): boolean {
  return !hostHasConnection || stats.connectionsAcrossWorkers() < maxConnections;
}

interface Waiter {
  exchange: UpstreamExchange;
  headRequest: boolean;
}

/**
 * Keep-alive HTTP/1.1 connections to one upstream host, within the cluster-wide connection and
 * pending-request limits. Idle connections are reused most
 * recently used first (warm sockets, and cold ones age out through the idle timer).
 */
export class H1ConnectionPool implements ConnectionOwner {
  private readonly idle: H1UpstreamConnection[] = [];
  private readonly waiters: Waiter[] = [];
  private connecting = 0;
  private total = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Connections opened by this pool that are busy or idle. */
  readonly onCountChange: ((delta: number) => void) | undefined;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly hostKey: string,
    /** Replaced when a reload brings new certificates (rotation): new connections use the new one. */
    public connector: TransportConnector,
    private readonly limits: PoolLimits,
    readonly stats: PoolStats,
    onCountChange?: (delta: number) => void,
  ) {
    this.onCountChange = onCountChange;
  }

  /** Gives `exchange` a connection now (calling onUpstreamReady) or when one frees; false when the queue is full. */
  acquire(exchange: UpstreamExchange, headRequest: boolean): boolean {
    while (this.idle.length > 0) {
      const conn = this.idle.pop()!;
      if (conn.closed || conn.socket.destroyed) continue;
      conn.attach(exchange, headRequest);
      exchange.onUpstreamReady(conn);
      return true;
    }
    // Envoy's circuit breakers count the whole cluster (stats is the cluster's): connections across
    // its hosts, and requests pending across them.
    if (mayOpenConnection(this.stats, this.limits.maxConnections, this.total > 0)) {
      this.open(exchange, headRequest);
      return true;
    }
    this.stats.connectionOverflow++;
    if (this.stats.pendingAcrossWorkers() >= this.limits.maxPendingRequests) {
      this.stats.pendingOverflow++;
      return false;
    }
    this.waiters.push({ exchange, headRequest });
    this.stats.pending++;
    return true;
  }

  /** Withdraws a queued exchange (its request timed out or the client went away). */
  cancel(exchange: UpstreamExchange): void {
    const i = this.waiters.findIndex((w) => w.exchange === exchange);
    if (i >= 0) {
      this.waiters.splice(i, 1);
      this.stats.pending--;
    }
  }

  onConnectionIdle(conn: H1UpstreamConnection): void {
    const max = this.limits.maxRequestsPerConnection;
    if (this.closed || (max > 0 && conn.requests >= max)) {
      conn.destroy();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      this.stats.pending--;
      conn.attach(waiter.exchange, waiter.headRequest);
      waiter.exchange.onUpstreamReady(conn);
      return;
    }
    this.idle.push(conn);
    this.armIdleTimer();
  }

  onConnectionClosed(conn: H1UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.total--;
    this.stats.connectionsActive--;
    this.onCountChange?.(-1);
    // A freed slot lets a queued request open a connection of its own.
    const waiter = this.closed ? undefined : this.waiters.shift();
    if (waiter) {
      this.stats.pending--;
      this.open(waiter.exchange, waiter.headRequest);
    }
  }

  /** Closes idle connections now and busy ones as they finish. */
  close(): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const conn of this.idle.splice(0)) conn.destroy();
    for (const w of this.waiters.splice(0)) {
      this.stats.pending--;
      w.exchange.onUpstreamConnectFailure('pool closed');
    }
  }

  get size(): number {
    return this.total;
  }

  private open(exchange: UpstreamExchange, headRequest: boolean): void {
    this.total++;
    this.connecting++;
    this.stats.connectionsActive++;
    this.stats.connectionsTotal++;
    this.onCountChange?.(1);
    let socket: Socket;
    // Reads can only be delivered once the connection object exists; none arrive before connect.
    let reader: H1UpstreamConnection | undefined;
    try {
      socket = this.connector.connect(this.address, this.port, (buf, length) => reader?.onData(buf, length));
    } catch (err) {
      this.total--;
      this.connecting--;
      this.stats.connectionsActive--;
      this.stats.connectFailures++;
      this.onCountChange?.(-1);
      exchange.onUpstreamConnectFailure((err as Error).message);
      return;
    }
    const conn = new H1UpstreamConnection(socket, this, this.hostKey, this.connector.deliversReads === true);
    reader = conn;
    conn.attach(exchange, headRequest);
    const timer = setTimeout(() => {
      if (!conn.connected) {
        socket.destroy(Object.assign(new Error('connect timeout'), { code: CONNECT_TIMEOUT }));
      }
    }, this.limits.connectTimeout);
    socket.once(this.connector.readyEvent, () => {
      clearTimeout(timer);
      this.connecting--;
      conn.connected = true;
      const ex = conn.exchange;
      if (ex) ex.onUpstreamReady(conn);
      else this.onConnectionIdle(conn);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      if (!conn.connected) {
        this.connecting--;
        this.stats.connectFailures++;
      }
    });
  }

  private armIdleTimer(): void {
    if (this.idleTimer || this.limits.idleTimeout <= 0) return;
    this.idleTimer = setTimeout(() => this.reapIdle(), Math.min(this.limits.idleTimeout, 60_000));
    this.idleTimer.unref();
  }

  private reapIdle(): void {
    this.idleTimer = undefined;
    const cutoff = Date.now() - this.limits.idleTimeout;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i]!;
      if (conn.idleSince <= cutoff) {
        this.idle.splice(i, 1);
        conn.destroy();
      }
    }
    if (this.idle.length > 0) this.armIdleTimer();
  }
}
