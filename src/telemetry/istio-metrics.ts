/**
 * Istio's standard metrics (https://istio.io/latest/docs/reference/config/metrics/): the same
 * names, labels and buckets, so Istio's dashboards and alerts work on a Bulwark mesh.
 *
 * The data path binds a stream once per (direction, route, cluster, peer) and keeps it; a request
 * then costs one small map lookup by a numeric key (status, gRPC status) and four additions.
 */
import type { Counter, CounterFamily } from './counter.js';
import type { Histogram, HistogramFamily } from './histogram.js';
import type { MetricsRegistry } from './metrics-registry.js';

/**
 * Envoy's default histogram buckets. Istio's bootstrap sets no histogram_bucket_settings unless a
 * pod asks for them, so these are the buckets of all four Istio histograms (ms and bytes alike).
 */
export const ISTIO_DEFAULT_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/** Labels of the HTTP/gRPC metrics, in export order. */
export const ISTIO_HTTP_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

/** Labels of the TCP metrics: the HTTP set without response_code and grpc_response_status. */
export const ISTIO_TCP_LABELS = ISTIO_HTTP_LABELS.filter((l) => l !== 'response_code' && l !== 'grpc_response_status');

/** Istio's value for a label it cannot know. */
export const UNKNOWN = 'unknown';

/** Who a workload is, as Istio labels it. Missing fields export as "unknown". */
export interface WorkloadIdentity {
  workload?: string;
  namespace?: string;
  /** SPIFFE ID, e.g. spiffe://cluster.local/ns/default/sa/reviews. */
  principal?: string;
  app?: string;
  version?: string;
  canonicalService?: string;
  canonicalRevision?: string;
  /** The (Kubernetes) cluster the workload runs in; "Kubernetes" by Istio's default. */
  cluster?: string;
}

/** The static labels of one stream of requests or connections; everything but the per-request outcome. */
export interface StreamLabels {
  /** Outbound streams are reported as reporter="source", inbound ones as reporter="destination". */
  direction: 'inbound' | 'outbound';
  /** The other side: the destination for outbound streams, the source for inbound ones. */
  peer: WorkloadIdentity;
  /** Host name of the destination service, e.g. reviews.default.svc.cluster.local (or the cluster name). */
  destinationService: string;
  destinationServiceName: string;
  destinationServiceNamespace: string;
  /** "mutual_tls" or "none" when the inbound side knows; Istio reports "unknown" on the source side. */
  connectionSecurityPolicy: 'mutual_tls' | 'none' | 'unknown';
}

/** Labels of an HTTP or gRPC request stream. */
export interface RequestStreamLabels extends StreamLabels {
  requestProtocol: 'http' | 'grpc';
}

/** Handles on the four bound series of one outcome (status, flags, gRPC status). */
interface RequestSeries {
  requests: Counter;
  duration: Histogram;
  requestBytes: Histogram;
  responseBytes: Histogram;
}

/** Handles on the four bound TCP counters of one response_flags value. */
interface TcpSeries {
  opened: Counter;
  closed: Counter;
  sent: Counter;
  received: Counter;
}

const NO_FLAGS = '-';

/** The Istio metric families, and the bound streams the data path records into. */
export class IstioMetrics {
  readonly requestsTotal: CounterFamily;
  readonly requestDuration: HistogramFamily;
  readonly requestBytes: HistogramFamily;
  readonly responseBytes: HistogramFamily;
  readonly tcpSentBytes: CounterFamily;
  readonly tcpReceivedBytes: CounterFamily;
  readonly tcpOpened: CounterFamily;
  readonly tcpClosed: CounterFamily;
  private readonly requestStreams = new Map<string, RequestStream>();
  private readonly tcpStreams = new Map<string, TcpStream>();

  /** Registers the families in `registry`; `self` is the workload this proxy stands in front of. */
  constructor(
    registry: MetricsRegistry,
    readonly self: WorkloadIdentity,
  ) {
    const http = ISTIO_HTTP_LABELS;
    const tcp = ISTIO_TCP_LABELS;
    const b = ISTIO_DEFAULT_BUCKETS;
    this.requestsTotal = registry.counter('istio_requests_total', 'Requests handled by the proxy.', http);
    this.requestDuration = registry.histogram('istio_request_duration_milliseconds', 'Request duration in milliseconds.', http, b);
    this.requestBytes = registry.histogram('istio_request_bytes', 'HTTP request body sizes in bytes.', http, b);
    this.responseBytes = registry.histogram('istio_response_bytes', 'HTTP response body sizes in bytes.', http, b);
    this.tcpSentBytes = registry.counter('istio_tcp_sent_bytes_total', 'Bytes sent to the downstream during TCP connections.', tcp);
    this.tcpReceivedBytes = registry.counter('istio_tcp_received_bytes_total', 'Bytes received from the downstream during TCP connections.', tcp);
    this.tcpOpened = registry.counter('istio_tcp_connections_opened_total', 'TCP connections opened.', tcp);
    this.tcpClosed = registry.counter('istio_tcp_connections_closed_total', 'TCP connections closed.', tcp);
  }

  /**
   * The request stream for `key` (a string the caller makes once, e.g. route name + cluster + peer),
   * created from `labels` on first use. Keep the returned object; record() is the per-request call.
   */
  requestStream(key: string, labels: RequestStreamLabels): RequestStream {
    let stream = this.requestStreams.get(key);
    if (stream === undefined) {
      stream = new RequestStream(this, this.baseLabels(labels, labels.requestProtocol, ISTIO_HTTP_LABELS));
      this.requestStreams.set(key, stream);
    }
    return stream;
  }

  /** The TCP stream for `key`, created from `labels` on first use (request_protocol="tcp"). */
  tcpStream(key: string, labels: StreamLabels): TcpStream {
    let stream = this.tcpStreams.get(key);
    if (stream === undefined) {
      stream = new TcpStream(this, this.baseLabels(labels, 'tcp', ISTIO_TCP_LABELS));
      this.tcpStreams.set(key, stream);
    }
    return stream;
  }

  private baseLabels(labels: StreamLabels, protocol: string, names: readonly string[]): string[] {
    const outbound = labels.direction === 'outbound';
    const src = outbound ? this.self : labels.peer;
    const dst = outbound ? labels.peer : this.self;
    const values: Record<string, string> = {
      reporter: outbound ? 'source' : 'destination',
      source_workload: src.workload ?? UNKNOWN,
      source_workload_namespace: src.namespace ?? UNKNOWN,
      source_principal: src.principal ?? UNKNOWN,
      source_app: src.app ?? UNKNOWN,
      source_version: src.version ?? UNKNOWN,
      source_canonical_service: src.canonicalService ?? UNKNOWN,
      source_canonical_revision: src.canonicalRevision ?? UNKNOWN,
      source_cluster: src.cluster ?? UNKNOWN,
      destination_workload: dst.workload ?? UNKNOWN,
      destination_workload_namespace: dst.namespace ?? UNKNOWN,
      destination_principal: dst.principal ?? UNKNOWN,
      destination_app: dst.app ?? UNKNOWN,
      destination_version: dst.version ?? UNKNOWN,
      destination_service: labels.destinationService,
      destination_service_name: labels.destinationServiceName,
      destination_service_namespace: labels.destinationServiceNamespace,
      destination_canonical_service: dst.canonicalService ?? UNKNOWN,
      destination_canonical_revision: dst.canonicalRevision ?? UNKNOWN,
      destination_cluster: dst.cluster ?? UNKNOWN,
      request_protocol: protocol,
      response_code: '',
      grpc_response_status: '',
      response_flags: NO_FLAGS,
      connection_security_policy: labels.connectionSecurityPolicy,
    };
    return names.map((n) => values[n]!);
  }
}

const RESPONSE_CODE = ISTIO_HTTP_LABELS.indexOf('response_code');
const GRPC_STATUS = ISTIO_HTTP_LABELS.indexOf('grpc_response_status');
const HTTP_FLAGS = ISTIO_HTTP_LABELS.indexOf('response_flags');
const TCP_FLAGS = ISTIO_TCP_LABELS.indexOf('response_flags');

/** One bound request stream; see IstioMetrics.requestStream. */
export class RequestStream {
  // Outcomes without response flags (the common case) skip the flags map.
  private readonly plain = new Map<number, RequestSeries>();
  private readonly flagged = new Map<string, Map<number, RequestSeries>>();

  constructor(
    private readonly metrics: IstioMetrics,
    private readonly labels: readonly string[],
  ) {}

  /**
   * Records one finished request: HTTP status, duration in ms, request and response body bytes,
   * Envoy response flags ("-" when none, e.g. "UF", "UH", "UT") and the gRPC status (-1 when not gRPC).
   */
  record(status: number, durationMs: number, requestBytes: number, responseBytes: number, responseFlags: string = NO_FLAGS, grpcStatus = -1): void {
    let byOutcome = this.plain;
    if (responseFlags !== NO_FLAGS) {
      let withFlags = this.flagged.get(responseFlags);
      if (withFlags === undefined) {
        withFlags = new Map();
        this.flagged.set(responseFlags, withFlags);
      }
      byOutcome = withFlags;
    }
    // A numeric key: no string is built per request. gRPC statuses are 0..16, so 32 slots per HTTP status suffice.
    const key = status * 32 + (grpcStatus + 1);
    let series = byOutcome.get(key);
    if (series === undefined) {
      series = this.bindOutcome(status, responseFlags, grpcStatus);
      byOutcome.set(key, series);
    }
    series.requests.value++;
    series.duration.observe(durationMs);
    series.requestBytes.observe(requestBytes);
    series.responseBytes.observe(responseBytes);
  }

  private bindOutcome(status: number, responseFlags: string, grpcStatus: number): RequestSeries {
    const values = [...this.labels];
    values[RESPONSE_CODE] = String(status);
    values[GRPC_STATUS] = grpcStatus >= 0 ? String(grpcStatus) : '';
    values[HTTP_FLAGS] = responseFlags;
    const m = this.metrics;
    return {
      requests: m.requestsTotal.bind(values),
      duration: m.requestDuration.bind(values),
      requestBytes: m.requestBytes.bind(values),
      responseBytes: m.responseBytes.bind(values),
    };
  }
}

/** One bound TCP stream; see IstioMetrics.tcpStream. */
export class TcpStream {
  private plain: TcpSeries | undefined;
  private readonly flagged = new Map<string, TcpSeries>();

  constructor(
    private readonly metrics: IstioMetrics,
    private readonly labels: readonly string[],
  ) {}

  /** Counts a connection opened. */
  opened(): void {
    this.series(NO_FLAGS).opened.value++;
  }

  /**
   * Adds bytes moved since the last call: `received` from the downstream, `sent` to it. Call it
   * periodically for long connections and once at close, as Envoy's TCP stats do.
   */
  addBytes(received: number, sent: number, responseFlags: string = NO_FLAGS): void {
    const s = this.series(responseFlags);
    s.received.inc(received);
    s.sent.inc(sent);
  }

  /** Counts a connection closed, with the response flags that explain an abnormal end ("-" when none). */
  closed(responseFlags: string = NO_FLAGS): void {
    this.series(responseFlags).closed.value++;
  }

  private series(flags: string): TcpSeries {
    if (flags === NO_FLAGS && this.plain !== undefined) return this.plain;
    let s = flags === NO_FLAGS ? undefined : this.flagged.get(flags);
    if (s === undefined) {
      const values = [...this.labels];
      values[TCP_FLAGS] = flags;
      const m = this.metrics;
      s = {
        opened: m.tcpOpened.bind(values),
        closed: m.tcpClosed.bind(values),
        sent: m.tcpSentBytes.bind(values),
        received: m.tcpReceivedBytes.bind(values),
      };
      if (flags === NO_FLAGS) this.plain = s;
      else this.flagged.set(flags, s);
    }
    return s;
  }
}
