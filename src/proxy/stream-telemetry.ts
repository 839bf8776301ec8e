import type { HttpListenerContext } from './http/http-listener-context.js';
import type { HttpStream } from './http/http-stream.js';
import type { TcpSessionRecord } from './listeners/tcp-proxy.js';
import type { ProxyTelemetry } from './proxy-runtime.js';
import { IstioMetrics, type RequestStream, type TcpStream, type WorkloadIdentity } from '../telemetry/istio-metrics.js';
import type { MetricsRegistry } from '../telemetry/metrics-registry.js';
import { newRequestId } from '../telemetry/request-id.js';
// The module binding: the global `performance` is a lazy getter, a call per read on the hot path.
import { performance } from 'node:perf_hooks';

/** Receives one finished request or connection for the access log. */
export interface AccessLogSink {
  logHttp(stream: HttpStream, ctx: HttpListenerContext, durationMs: number): void;
  logTcp(record: TcpSessionRecord): void;
}

/**
 * Adds or continues trace context on upstream headers; returns the traceparent it sent, which it
 * formats from checked hex ids (digits, a-f and dashes only: the access log writes it unescaped).
 */
export type TracePropagator = (headers: string[]) => string | undefined;

/**
 * The data path's reporting: Istio standard metrics per (listener, cluster, peer), and the access
 * log. Bound metric streams are cached so a request costs a map lookup and a few additions.
 */
export class StreamTelemetry implements ProxyTelemetry {
  readonly istio: IstioMetrics;
  private readonly httpStreams = new WeakMap<HttpListenerContext, Map<string, RequestStream>>();
  private readonly tcpStreams = new Map<string, TcpStream>();

  constructor(
    registry: MetricsRegistry,
    self: WorkloadIdentity,
    private readonly accessLog: AccessLogSink | undefined,
    private readonly tracer: TracePropagator | undefined,
    private readonly requestIds: () => string = newRequestId,
  ) {
    this.istio = new IstioMetrics(registry, self);
  }

  newRequestId(): string {
    return this.requestIds();
  }

  propagateTrace(headers: string[]): string | undefined {
    return this.tracer?.(headers);
  }

  onHttpStream(stream: HttpStream, ctx: HttpListenerContext): void {
    const durationMs = performance.now() - stream.startTime;
    let byKey = this.httpStreams.get(ctx);
    if (byKey === undefined) {
      byKey = new Map();
      this.httpStreams.set(ctx, byKey);
    }
    const cluster = stream.upstreamClusterName;
    const principal = stream.peerPrincipal;
    const key = principal ? `${cluster}|${principal}` : cluster;
    let series = byKey.get(key);
    if (series === undefined) {
      const inbound = ctx.hcm.statPrefix.startsWith('inbound');
      series = this.istio.requestStream(`${ctx.listenerName}|${ctx.hcm.statPrefix}|${key}`, {
        direction: inbound ? 'inbound' : 'outbound',
        peer: inbound ? { principal: principal || undefined } : {},
        destinationService: cluster || 'unknown',
        destinationServiceName: cluster || 'unknown',
        destinationServiceNamespace: 'unknown',
        connectionSecurityPolicy: inbound ? (principal ? 'mutual_tls' : 'none') : 'unknown',
        requestProtocol: isGrpc(stream) ? 'grpc' : 'http',
      });
      byKey.set(key, series);
    }
    series.record(stream.responseStatus, durationMs, stream.requestBytes, stream.responseBytes, stream.responseFlags);
    this.accessLog?.logHttp(stream, ctx, durationMs);
  }

  onTcpOpen(record: TcpSessionRecord): void {
    this.tcpStream(record).opened();
  }

  onTcpClose(record: TcpSessionRecord): void {
    const s = this.tcpStream(record);
    s.addBytes(record.bytesReceived, record.bytesSent, record.flag);
    s.closed(record.flag);
    this.accessLog?.logTcp(record);
  }

  private tcpStream(record: TcpSessionRecord): TcpStream {
    const key = `${record.listenerName}|${record.cluster}|${record.peerPrincipal}`;
    let s = this.tcpStreams.get(key);
    if (s === undefined) {
      const inbound = record.config.statPrefix.startsWith('inbound');
      s = this.istio.tcpStream(key, {
        direction: inbound ? 'inbound' : 'outbound',
        peer: inbound ? { principal: record.peerPrincipal || undefined } : {},
        destinationService: record.cluster,
        destinationServiceName: record.cluster,
        destinationServiceNamespace: 'unknown',
        connectionSecurityPolicy: inbound ? (record.peerPrincipal ? 'mutual_tls' : 'none') : 'unknown',
      });
      this.tcpStreams.set(key, s);
    }
    return s;
  }
}

function isGrpc(stream: HttpStream): boolean {
  const h = stream.head.headers;
  for (let i = 0; i < h.length; i += 2) if (h[i] === 'content-type') return h[i + 1]!.startsWith('application/grpc');
  return false;
}
