import type { Socket } from 'node:net';
import type { TcpProxy } from '../../model/listener.js';
import { connectionEndpoints, endpointText, type ConnectionEndpoints } from '../connection-endpoints.js';
import type { ClusterLookup, UpstreamHost } from '../clusters/upstream-cluster.js';
import { closeAfterFlush } from '../flush-close.js';
import { resetSocket } from '../reset-socket.js';
import { upstreamTransportFailureReason } from '../tls/upstream-tls-failure.js';
import { reportWhileOpen, stopReporting, type TcpByteReporter } from './tcp-byte-reports.js';
import { accessLogReads } from '../listener-access-log-reads.js';
// The module binding: the global `performance` is a lazy getter, a call per read on the hot path.
import { performance } from 'node:perf_hooks';

/** What the telemetry layer learns about a finished TCP connection. */
export interface TcpSessionRecord {
  listenerName: string;
  config: TcpProxy;
  cluster: string;
  upstreamHost: string;
  /** The downstream connection's addresses ("ip:port") and SNI, for the access log. */
  downstream: ConnectionEndpoints;
  /** "ip:port" of this proxy's end of the upstream connection, once connected. */
  upstreamLocal: string | undefined;
  peerPrincipal: string;
  startEpochMs: number;
  durationMs: number;
  bytesReceived: number;
  bytesSent: number;
  /** Of those, the bytes the metrics already count (reported while the connection was open). */
  reportedReceived: number;
  reportedSent: number;
  /** Envoy's response flag when it ended abnormally ("UF", "UH", "UO"), else "-". */
  flag: string;
  /** Why the proxy closed it, in Envoy's words (its local close reason), when it did. */
  terminationDetails?: string;
  /** Why the TLS handshake with the upstream failed, when that kept it from opening (Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON%). */
  upstreamTransportFailureReason?: string;
}

export interface TcpTelemetry {
  onTcpOpen(record: TcpSessionRecord): void;
  /** The connection is still open and has moved `bytesReceived`/`bytesSent` so far. */
  onTcpBytes(record: TcpSessionRecord): void;
  onTcpClose(record: TcpSessionRecord): void;
}

/** One proxied TCP connection: downstream ↔ one upstream host, bytes both ways with back-pressure. */
export class TcpProxySession implements TcpByteReporter {
  listSlot = -1;
  private upstream: Socket | undefined;
  private readonly record: TcpSessionRecord;
  private finished = false;
  private host: UpstreamHost | undefined;
  private readonly started = performance.now();

  constructor(
    private readonly downstream: Socket,
    config: TcpProxy,
    listenerName: string,
    peerPrincipal: string,
    clusters: ClusterLookup,
    private readonly telemetry: TcpTelemetry,
    /** The SNI of a TLS connection passed through (the listener read it from the ClientHello). */
    serverName?: string,
  ) {
    this.record = {
      listenerName,
      config,
      cluster: pickTcpCluster(config, Math.random()),
      upstreamHost: '',
      downstream: connectionEndpoints(downstream, serverName, accessLogReads(config.accessLog).downstreamTls),
      upstreamLocal: undefined,
      peerPrincipal,
      startEpochMs: Date.now(),
      durationMs: 0,
      bytesReceived: 0,
      bytesSent: 0,
      reportedReceived: 0,
      reportedSent: 0,
      flag: '-',
    };
    downstream.pause();
    // A FIN from one side is passed on and the other direction keeps flowing (TCP half-close), as
    // request/response protocols that end their request with a FIN need; pipe() forwards the FIN.
    downstream.allowHalfOpen = true;
    const cluster = clusters.get(this.record.cluster);
    const host = cluster?.chooseHost(downstream.remoteAddress);
    if (!cluster || !host) {
      this.record.flag = 'UH';
      this.finish();
      return;
    }
    this.host = host;
    host.activeRequests++;
    this.record.upstreamHost = host.key;
    telemetry.onTcpOpen(this.record);
    const up = cluster.connectTcp(host);
    if (up === undefined) {
      // Envoy's tcp_proxy closes a connection its cluster's maxConnections breaker refuses.
      this.record.flag = 'UO';
      this.finish();
      return;
    }
    up.allowHalfOpen = true;
    this.upstream = up;
    let connected = false;
    const timer = setTimeout(() => up.destroy(new Error('connect timeout')), cluster.model.connectTimeout);
    up.once(cluster.tcpReadyEvent, () => {
      clearTimeout(timer);
      connected = true;
      this.record.upstreamLocal = endpointText(up.localAddress, up.localPort);
      downstream.pipe(up);
      up.pipe(downstream);
      downstream.resume();
      if (!this.finished) reportWhileOpen(this);
    });
    up.on('error', (err) => {
      if (!connected) this.record.upstreamTransportFailureReason ??= upstreamTransportFailureReason(err);
    });
    up.once('close', (hadError) => {
      clearTimeout(timer);
      // Node clears `connecting` before it reports a failed connect: readiness is tracked here.
      if (!connected && !this.finished) {
        this.record.flag = 'UF';
        cluster.recordOutcome(host, 'connect-failure');
        this.finish();
        return;
      }
      // An upstream's reset reaches the client as a reset, as Envoy's tcp_proxy passes it on (a FIN
      // would say the stream ended whole). One that comes after its FIN ends nothing more (it answers
      // bytes sent to a closed socket): what the upstream sent before still goes out.
      if (hadError && !up.readableEnded) {
        resetSocket(downstream);
        return;
      }
      // What the upstream sent still reaches a client that reads slowly; the session ends when the
      // downstream has closed.
      closeAfterFlush(downstream, this.flushGraceMs);
    });
    downstream.once('close', (hadError) => {
      // The client's reset reaches the upstream as one (Envoy's propagate_downstream_rst_to_upstream).
      if (hadError && connected && !downstream.readableEnded) resetSocket(up);
      this.finish();
    });
    const idle = config.idleTimeout;
    if (idle > 0) {
      downstream.setTimeout(idle, () => {
        // Envoy sets no response flag for the idle timeout: its close reason says why.
        this.record.terminationDetails = 'tcp_session_idle_timeout';
        this.finish(true);
      });
    }
  }

  /** Hands the bytes moved so far to the metrics, while the connection is open. */
  reportBytes(): void {
    this.record.bytesReceived = this.downstream.bytesRead;
    this.record.bytesSent = this.downstream.bytesWritten;
    this.telemetry.onTcpBytes(this.record);
  }

  /** How long a closing side may take to take what is still queued for it. */
  private get flushGraceMs(): number {
    return this.record.config.idleTimeout || 3_600_000;
  }

  /** Ends the session; `now` cuts both sides, else what is queued for the upstream is flushed first. */
  private finish(now = false): void {
    if (this.finished) return;
    this.finished = true;
    stopReporting(this);
    this.record.bytesReceived = this.downstream.bytesRead;
    this.record.bytesSent = this.downstream.bytesWritten;
    this.record.durationMs = performance.now() - this.started;
    this.downstream.destroy();
    if (this.upstream) {
      if (now || this.record.flag !== '-') this.upstream.destroy();
      else closeAfterFlush(this.upstream, this.flushGraceMs);
    }
    if (this.host) this.host.activeRequests--;
    this.telemetry.onTcpClose(this.record);
  }

  /** TCP has no graceful in-band close: drain lets the connection run to its natural end. */
  drain(): void {}
}

/** The cluster a new connection goes to: the one configured, or one of weightedClusters by weight (`random` in [0, 1)). */
export function pickTcpCluster(config: TcpProxy, random: number): string {
  const weighted = config.weightedClusters;
  if (weighted === undefined) return config.cluster;
  let total = 0;
  for (const c of weighted) total += c.weight;
  let target = random * total;
  for (const c of weighted) {
    if (target < c.weight) return c.name;
    target -= c.weight;
  }
  return weighted[weighted.length - 1]!.name;
}
