import type { HttpListenerContext } from './http/http-listener-context.js';
import type { HttpStream } from './http/http-stream.js';
import type { TcpSessionRecord } from './listeners/tcp-proxy.js';
import type { ProxyTelemetry } from './proxy-runtime.js';
import { IstioMetrics, type RequestStream, type TcpStream, type WorkloadIdentity } from '../telemetry/istio-metrics.js';
import type { MetricsRegistry } from '../telemetry/metrics-registry.js';
import { newRequestId } from '../telemetry/request-id.js';
import { grpcStatusForHttp } from './http/grpc-status.js';
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
export type TracePropagator = (headers: string[], sampleNewTrace: boolean) => string | undefined;

/**
 * The data path's reporting: Istio standard metrics per (listener, cluster, peer), and the access
 * log. Bound metric streams are cached so a request costs a map lookup and a few additions.
 */
export class StreamTelemetry implements ProxyTelemetry {
  readonly istio: IstioMetrics;
  /** Bound streams per listener context, by cluster and peer; gRPC requests have their own (request_protocol differs). */
  private readonly httpStreams = new WeakMap<HttpListenerContext, Map<string, RequestStream>>();
  private readonly grpcStreams = new WeakMap<HttpListenerContext, Map<string, RequestStream>>();
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

  propagateTrace(headers: string[], sampleNewTrace: boolean): string | undefined {
    return this.tracer?.(headers, sampleNewTrace);
  }

  onHttpStream(stream: HttpStream, ctx: HttpListenerContext): void {
    const durationMs = performance.now() - stream.startTime;
    const grpc = stream.isGrpc;
    const streams = grpc ? this.grpcStreams : this.httpStreams;
    let byKey = streams.get(ctx);
    if (byKey === undefined) {
      byKey = new Map();
      streams.set(ctx, byKey);
    }
    const cluster = stream.upstreamClusterName;
    const principal = stream.peerPrincipal;
    const key = principal ? `${cluster}|${principal}` : cluster;
    let series = byKey.get(key);
    if (series === undefined) {
      const inbound = ctx.inbound;
      series = this.istio.requestStream(`${ctx.listenerName}|${ctx.hcm.statPrefix}|${grpc ? 'grpc' : 'http'}|${key}`, {
        direction: inbound ? 'inbound' : 'outbound',
        peer: inbound ? { principal: principal || undefined } : {},
        destinationService: cluster || 'unknown',
        destinationServiceName: cluster || 'unknown',
        destinationServiceNamespace: 'unknown',
        connectionSecurityPolicy: inbound ? (principal ? 'mutual_tls' : 'none') : 'unknown',
        requestProtocol: grpc ? 'grpc' : 'http',
      });
      byKey.set(key, series);
    }
    series.record(stream.responseStatus, durationMs, stream.requestBytes, stream.responseBytes, stream.responseFlags, grpc ? grpcStatusOf(stream) : -1);
    this.accessLog?.logHttp(stream, ctx, durationMs);
  }

  onTcpOpen(record: TcpSessionRecord): void {
    this.tcpStream(record).opened();
  }

  onTcpBytes(record: TcpSessionRecord): void {
    // Counted with no response flags: an open connection has none yet.
    this.countTcpBytes(this.tcpStream(record), record);
  }

  onTcpClose(record: TcpSessionRecord): void {
    const s = this.tcpStream(record);
    this.countTcpBytes(s, record, record.flag);
    s.closed(record.flag);
    this.accessLog?.logTcp(record);
  }

  /** Adds what the connection moved since its bytes were last counted. */
  private countTcpBytes(s: TcpStream, record: TcpSessionRecord, flag?: string): void {
    s.addBytes(record.bytesReceived - record.reportedReceived, record.bytesSent - record.reportedSent, flag);
    record.reportedReceived = record.bytesReceived;
    record.reportedSent = record.bytesSent;
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

/**
 * A gRPC request's status for metrics: what the response carried, else what its HTTP status means
 * (an upstream that answered 503 without grpc-status); none when no response was sent.
 */
function grpcStatusOf(stream: HttpStream): number {
  if (stream.grpcStatus >= 0) return stream.grpcStatus;
  const status = stream.responseStatus;
  return status === 0 || status === 200 ? -1 : grpcStatusForHttp(status);
}
