import type { ResourceSnapshot } from '../model/bootstrap.js';
import type { AccessLog } from '../model/listener.js';
import type { LogDetails } from '../telemetry/access-log-reads.js';
import { AccessLogger } from '../telemetry/access-log.js';
import { compileAccessLogFormat, type AccessLogLine } from '../telemetry/access-log-template.js';
import type { ProxyMetrics } from '../telemetry/proxy-metrics.js';
import type { HttpListenerContext } from './http/http-listener-context.js';
import type { HttpStream } from './http/http-stream.js';
import { httpLogRecord } from './http/http-log-record.js';
import type { TcpSessionRecord } from './listeners/tcp-proxy.js';
import { accessLogReads } from './listener-access-log-reads.js';
import { proxyLogger } from './proxy-log.js';
import type { AccessLogSink } from './stream-telemetry.js';

const fileLog = proxyLogger('file');

/** How long a log path that could not be opened waits before the next attempt (not one open per request). */
const OPEN_RETRY_MS = 1000;

/**
 * Writes each finished request or connection to the access logs its listener names. A log that cannot be
 * opened (a missing directory, no file descriptors left) never fails the request it would record: its
 * lines are dropped and counted, the failure is logged once, and opening is tried again every second.
 */
class ProxyAccessLog implements AccessLogSink {
  private readonly loggers = new Map<string, AccessLogger>();
  /** Paths whose last open failed, with when to try again. */
  private readonly unopened = new Map<string, number>();
  private readonly formats = new WeakMap<AccessLog, AccessLogLine>();
  private dropped = 0;

  constructor(private readonly metrics: ProxyMetrics) {}

  private logger(config: AccessLog): AccessLogger | undefined {
    return this.loggers.get(config.path) ?? this.open(config.path);
  }

  private open(path: string): AccessLogger | undefined {
    const retryAt = this.unopened.get(path);
    const now = Date.now();
    if (retryAt !== undefined && now < retryAt) return undefined;
    try {
      const l = AccessLogger.open(path);
      this.loggers.set(path, l);
      if (retryAt !== undefined) {
        this.unopened.delete(path);
        fileLog('info', 'access log opened; lines are written again', { path });
      }
      return l;
    } catch (err) {
      if (retryAt === undefined) fileLog('error', 'access log cannot be opened; its lines are dropped and counted until it can', { path, error: (err as Error).message });
      this.unopened.set(path, now + OPEN_RETRY_MS);
      return undefined;
    }
  }

  logHttp(stream: HttpStream, ctx: HttpListenerContext, durationMs: number): void {
    const logs = ctx.hcm.accessLog;
    if (logs.length === 0) return;
    const record = httpLogRecord(stream, durationMs, ctx.accessLogReads.details);
    const h = stream.head;
    for (let i = 0; i < logs.length; i++) {
      const config = logs[i]!;
      const logger = this.logger(config);
      const ok = logger !== undefined && (config.format === undefined ? logger.logHttp(record) : logger.logLine(this.formatted(config)(record, h.headers)));
      if (!ok) this.countDrop();
    }
  }

  /** The compiled format of an access log entry that names its own (compiled once per config object). */
  private formatted(config: AccessLog): AccessLogLine {
    let f = this.formats.get(config);
    if (f === undefined) {
      f = compileAccessLogFormat(config.format!);
      this.formats.set(config, f);
    }
    return f;
  }

  logTcp(r: TcpSessionRecord): void {
    const logs = r.config.accessLog;
    if (logs.length === 0) return;
    const record = {
      startTimeMs: r.startEpochMs,
      responseFlags: r.flag,
      connectionTerminationDetails: r.terminationDetails,
      upstreamTransportFailureReason: r.upstreamTransportFailureReason,
      bytesReceived: r.bytesReceived,
      bytesSent: r.bytesSent,
      durationMs: r.durationMs,
      upstreamHost: r.upstreamHost || undefined,
      upstreamCluster: r.cluster,
      upstreamLocalAddress: r.upstreamLocal,
      downstreamLocalAddress: r.downstream.local,
      downstreamRemoteAddress: r.downstream.remote,
      downstreamDirectRemoteAddress: r.downstream.remote,
      requestedServerName: r.downstream.serverName,
      downstreamPeerPrincipal: r.peerPrincipal || undefined,
      details: accessLogReads(logs).details ? tcpLogDetails(r) : undefined,
    };
    for (let i = 0; i < logs.length; i++) {
      const config = logs[i]!;
      const logger = this.logger(config);
      // A format's %PROTOCOL% is unknown ("-") on a TCP connection, as in Envoy; the built-in layout says "TCP".
      const ok = logger !== undefined && (config.format === undefined ? logger.logTcp(record) : logger.logLine(this.formatted(config)(record)));
      if (!ok) this.countDrop();
    }
  }

  private countDrop(): void {
    this.dropped++;
    this.metrics.accessLogDroppedLines.inc();
  }

  /**
   * Makes the logs match the applied config. Paths it names are opened now, so one that cannot be is
   * reported when the config is applied rather than at the first request. Logs of paths it no longer
   * names (a reload that renamed or dropped an access log, or removed its listener) are closed: each
   * held its file descriptor and its batch buffers (about 260 KiB) for the life of the process. What
   * they still hold is written first. A stream of the old config that finishes later opens its path
   * again, and the next reload closes it.
   */
  use(paths: ReadonlySet<string>): void {
    for (const [path, logger] of this.loggers) {
      if (paths.has(path)) continue;
      this.loggers.delete(path);
      void logger.close(1000);
    }
    for (const path of this.unopened.keys()) if (!paths.has(path)) this.unopened.delete(path);
    for (const path of paths) if (!this.loggers.has(path)) this.open(path);
  }

  /** Opens every log file again by path, after log rotation moved them; a failure is logged and the old file kept. */
  reopen(): void {
    // A path that could not be opened is tried again now: rotation may be what made room for it.
    for (const path of this.unopened.keys()) this.unopened.set(path, 0);
    for (const [path, logger] of this.loggers) {
      try {
        logger.reopen();
      } catch (err) {
        fileLog('error', 'access log could not be reopened; still writing to the old file', { path, error: (err as Error).message });
      }
    }
  }

  /** Flushes every log, for shutdown. */
  async close(): Promise<void> {
    await Promise.all([...this.loggers.values()].map((l) => l.close(1000)));
  }
}

/** What only some formats read of a TCP connection. */
function tcpLogDetails(r: TcpSessionRecord): LogDetails {
  return {
    connectionId: r.downstream.id,
    // The TCP proxy makes one connect attempt, to the host it chose.
    upstreamRequestAttemptCount: r.upstreamHost ? 1 : 0,
    downstreamTlsVersion: r.downstream.tlsVersion,
    downstreamTlsCipher: r.downstream.tlsCipher,
  };
}

/** Every access log path a snapshot's listeners write to (HTTP connection managers and TCP proxies). */
export function accessLogPaths(snapshot: ResourceSnapshot): Set<string> {
  const paths = new Set<string>();
  for (const l of snapshot.listeners) for (const chain of l.filterChains) for (const f of chain.filters) for (const log of f.typedConfig.accessLog) paths.add(log.path);
  return paths;
}

/** The access log sink of one proxy process. */
export function createAccessLog(metrics: ProxyMetrics): ProxyAccessLog {
  return new ProxyAccessLog(metrics);
}
