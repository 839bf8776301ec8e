import type { Address } from './address.js';
import type { HttpFault } from './fault.js';
import type { Milliseconds } from './duration.js';
import type { RouteConfiguration } from './route.js';
import type { DownstreamTlsContext } from './tls.js';

export interface HttpFilter {
  name: string;
  typedConfig: Record<string, unknown>;
  /** The fault filter's own config (envoy.filters.http.fault), read from typedConfig. */
  fault?: HttpFault;
}

/** Envoy's logFormat: a text template or a JSON object of templates (command operators such as %RESPONSE_CODE%). */
export interface AccessLogFormat {
  text?: string;
  json?: Record<string, unknown>;
  /** Envoy's omit_empty_values: an unknown value is "" in text instead of "-", and its key is left out of JSON. */
  omitEmptyValues?: boolean;
  /** The deprecated FileAccessLog.json_format: every operator's value is a string, an unknown one "-". */
  jsonStrings?: boolean;
}

export interface AccessLog {
  name: string;
  /** Where lines go: a file path, or "/dev/stdout". */
  path: string;
  /** Envoy's logFormat (text or JSON of command operators); absent: the built-in JSON layout. */
  format?: AccessLogFormat;
}

/** Envoy's forward_client_cert_details: what happens to x-forwarded-client-cert on the way upstream. */
export type ForwardClientCertDetails = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';

/** Envoy's set_current_client_cert_details: which parts of the client certificate the XFCC element carries (By and Hash always). */
export interface ClientCertDetailsSet {
  subject: boolean;
  cert: boolean;
  chain: boolean;
  dns: boolean;
  uri: boolean;
}

export interface HttpConnectionManager {
  statPrefix: string;
  codecType: 'AUTO' | 'HTTP1' | 'HTTP2';
  routeConfig?: RouteConfiguration;
  rds?: { routeConfigName: string };
  httpFilters: HttpFilter[];
  accessLog: AccessLog[];
  commonHttpProtocolOptions: {
    idleTimeout: Milliseconds;
    maxHeadersCount: number;
    maxRequestsPerConnection: number;
    /** Request header names with '_' (which some gateways read as '-'): allowed, refused with 400, or dropped. */
    headersWithUnderscoresAction: 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';
  };
  /** Time allowed for the whole request head to arrive (slow-client protection). */
  requestHeadersTimeout: Milliseconds;
  streamIdleTimeout: Milliseconds;
  requestTimeout: Milliseconds;
  maxRequestHeadersKb: number;
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  generateRequestId: boolean;
  preserveExternalRequestId: boolean;
  /** The response carries the request's x-request-id (Envoy: otherwise only when x-envoy-force-trace asked for it). */
  alwaysSetRequestIdInResponse: boolean;
  forwardClientCertDetails: ForwardClientCertDetails;
  setCurrentClientCertDetails: ClientCertDetailsSet;
  /** RFC 3986 normalization of the path before routing (Istio's default; Envoy's normalize_path). */
  normalizePath: boolean;
  /** Merge repeated slashes in the path before routing. */
  mergeSlashes: boolean;
  /**
   * Percent of requests arriving without a sampling decision that this proxy marks sampled
   * (Envoy's tracing.randomSampling; 0 without a tracing block). Trace context is always propagated;
   * spans are not reported to a collector.
   */
  tracingRandomSampling: number;
  /** Envoy's httpProtocolOptions (HTTP/1.x downstream). */
  httpProtocolOptions: {
    /** HTTP/1.0 requests are served; when false they get 426, as Envoy's accept_http_10 false does. */
    acceptHttp10: boolean;
    /** The Host an HTTP/1.0 request without one is routed by. */
    defaultHostForHttp10: string;
  };
  /** Envoy's pathWithEscapedSlashesAction: what a path with %2F or %5C gets before routing. */
  pathWithEscapedSlashesAction: 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_FORWARD' | 'UNESCAPE_AND_REDIRECT';
  upgradeConfigs: Array<{ upgradeType: string }>;
  http2ProtocolOptions: {
    maxConcurrentStreams: number;
    /**
     * Envoy's connectionKeepalive: a session that opened no stream for `interval` ms is sent a PING,
     * and closed when no ACK comes within `timeout` ms. On by default here: a peer gone without a
     * FIN, or a session node:http2 stopped reading after a protocol error on a Node where the proxy
     * cannot close it at once (h2-close-when-done.ts), would otherwise hold the descriptor until the
     * idle timeout (an hour).
     */
    connectionKeepalive: { interval: number; timeout: number };
  };
  drainTimeout: Milliseconds;
  /** After the proxy half-closes a connection, how long the peer has to close its side (0 = destroy once flushed). */
  delayedCloseTimeout: Milliseconds;
  /** The `server` response header (Envoy: serverName, "envoy" there, "bulwark" here). */
  serverName: string;
  /** OVERWRITE: every response says serverName; APPEND_IF_ABSENT: only when the upstream named none; PASS_THROUGH: as the upstream sent it. */
  serverHeaderTransformation: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  /**
   * Envoy's scheme_header_transformation. schemeToOverwrite: the request's scheme (what routing,
   * redirects and the upstream see) and its x-forwarded-proto, whatever the connection was.
   * matchUpstream: the upstream request's :scheme says how it travels (https over TLS); never set with schemeToOverwrite.
   */
  schemeHeaderTransformation: { schemeToOverwrite?: 'http' | 'https'; matchUpstream: boolean };
}

export interface TcpProxy {
  statPrefix: string;
  /** The one upstream cluster; '' when weightedClusters splits connections instead. */
  cluster: string;
  /** Envoy's weighted_clusters: each connection goes to one of these, chosen by weight. */
  weightedClusters?: Array<{ name: string; weight: number }>;
  idleTimeout: Milliseconds;
  accessLog: AccessLog[];
}

export type NetworkFilter =
  | { name: 'envoy.filters.network.http_connection_manager'; typedConfig: HttpConnectionManager }
  | { name: 'envoy.filters.network.tcp_proxy'; typedConfig: TcpProxy };

export interface FilterChainMatch {
  serverNames: string[];
  transportProtocol?: 'tls' | 'raw_buffer';
  applicationProtocols: string[];
}

export interface FilterChain {
  name: string;
  filterChainMatch?: FilterChainMatch;
  transportSocket?: DownstreamTlsContext;
  filters: NetworkFilter[];
}

/** Names a ConnectionBalancer implementation (registry in proxy/workers). */
export interface ConnectionBalanceConfig {
  balancer: string;
}

export interface Listener {
  name: string;
  address: Address;
  filterChains: FilterChain[];
  connectionBalanceConfig: ConnectionBalanceConfig;
  perConnectionBufferLimitBytes: number;
  /**
   * How long an accepted connection may take, from accept, to send the first bytes the listener
   * inspects (TLS or plaintext, HTTP/2 preface or HTTP/1.1, the whole ClientHello); past it the socket
   * is closed. Milliseconds, 0 = never.
   */
  listenerFiltersTimeout: number;
  /** Istio's trafficDirection: INBOUND listeners report as destination in metrics. UNSPECIFIED goes by the stat prefix. */
  trafficDirection: 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';
}
