import { RETRY_POLICY_DEFAULTS, type MaxStreamDuration, type RetryPolicy } from '../../model/route.js';
import type { UpstreamCluster, UpstreamHost } from '../clusters/upstream-cluster.js';
import type { HeaderValueSource } from '../routing/header-mutation.js';
import type { RouteMatchResult, RouteTable } from '../routing/route-table.js';
import type { TemplateRecord } from '../../telemetry/access-log-template.js';
import type { DownstreamResponder } from './downstream-responder.js';
import type { H1Head } from './h1-parser.js';
import { H1UpstreamConnection, type UpstreamExchange } from './h1-upstream-connection.js';
import { forwardedClientCert } from './client-cert-details.js';
import { GRPC_DEADLINE_EXCEEDED, GRPC_INTERNAL, grpcMessage, grpcStatusForHttp, grpcStatusIn, grpcTimeoutMs, isGrpcRequest } from './grpc-status.js';
import { connectionTokens, isHopByHop } from './hop-by-hop.js';
import type { HttpListenerContext } from './http-listener-context.js';
import { httpLogRecord } from './http-log-record.js';
import { hasEscapedSlash, normalizeRequestTarget, unescapeSlashes } from './path-normalization.js';
import { resolveRequestId } from '../../telemetry/request-id.js';
import { clientAddress } from './client-address.js';
import { CORS_RESPONSE_DETAILS } from './cors-filter.js';
import { isEdgeStripped, isRouterOverride, readRouterOverride, type RouterOverrides } from './envoy-request-headers.js';
import { headerValue, type RequestHead } from './request-head.js';
import { addResponseFlag, resetFlag, ResponseFlag, type ResponseFlagCode } from './response-flags.js';
import { STREAM_DURATION_TIMEOUT_BODY, upstreamFailureBody, upstreamResetBody } from './local-reply-body.js';
import { blanksAsUnderscores, connectFailureReason, ResetReason, upstreamResetDetails, type ResetReasonText } from './upstream-reset-reason.js';
import { streamDeadlines, type StreamDeadlineHolder } from './stream-deadlines.js';
import { retryConditions, retriesFailure, retriesResponse } from './retry-conditions.js';
import { retryBackOffMs } from './retry-back-off.js';
import { interimResponseHeaders, isForwardedInterim, MAX_INTERIM_RESPONSES } from './interim-responses.js';
import type { UpstreamRequest } from './upstream-request.js';
import { FaultInjection, type FaultTarget } from '../filters/fault-injection.js';
import { FAULT_ABORT_BODY, FAULT_ABORT_DETAILS } from './local-reply-body.js';
// The module binding: the global `performance` is a lazy getter, a call per read on the hot path.
import { performance } from 'node:perf_hooks';



const enum Phase {
  Routing,
  WaitingUpstream,
  Forwarding,
  ResponseStreaming,
  Done,
}

/**
 * One request through the proxy: route → cluster → host → upstream request → response.
 * Codec-neutral; the downstream codec feeds the request in and the responder writes the response out.
 * State lives in fields (one object per request, no closures on the data path).
 */
export class HttpStream implements UpstreamExchange, StreamDeadlineHolder, HeaderValueSource, FaultTarget {
  readonly startTime = performance.now();
  readonly startEpochMs = Date.now();
  phase = Phase.Routing;
  route: RouteMatchResult | undefined;
  cluster: UpstreamCluster | undefined;
  host: UpstreamHost | undefined;
  upstream: UpstreamRequest | undefined;
  /** "ip:port" of this proxy's end of the last upstream connection used, for the access log. */
  upstreamLocalAddress: string | undefined;
  /** The TLS handshake failure of the last connection attempt that failed, if TLS was its cause (%UPSTREAM_TRANSPORT_FAILURE_REASON%). */
  upstreamTransportFailureReason: string | undefined;
  responseStatus = 0;
  /**
   * The status charged to the cluster, as Envoy's router charges it (upstream_rq_<code>): the upstream's
   * final response, or the router's own reply, counted before a gRPC client gets it trailers-only; 0 when neither.
   */
  routedStatus = 0;
  /** The gRPC status the response carried (head or trailers, or a local reply's), -1 when none. */
  grpcStatus = -1;
  private grpcRequest: boolean | undefined;
  /** Envoy's response flags: "-", one flag, or several joined by commas ("UF,URX"). */
  responseFlags: string = ResponseFlag.None;
  responseDetails = '';
  requestBytes = 0;
  responseBytes = 0;
  upstreamStart = 0;
  upstreamServiceTimeMs = -1;
  attempts = 0;
  /** Interim (1xx) responses passed on to the client: after the first the response has begun, and no try may start again. */
  private interimResponses = 0;
  /** Hosts earlier attempts used; kept only for a retry policy with the previous_hosts predicate. */
  private triedHosts: UpstreamHost[] | undefined;
  /** The route deadline is the route's maxStreamDuration (or the gRPC client's deadline), not its timeout. */
  private durationLimited = false;
  /** The route's timeout (ms, 0 = none), armed once the downstream request is complete. */
  private routeTimeoutMs = 0;
  /** When maxStreamDuration (or the gRPC client's deadline) ends the stream (performance.now() ms; 0 = never). */
  private durationDeadline = 0;
  /** Where the x-envoy-attempt-count value sits in upstreamHeaders; -1 when the route does not send it. */
  private attemptCountAt = -1;
  requestId = '';
  /** The trusted client address (see client-address.ts), once the request is classified; '' before. */
  clientAddress = '';
  /** Envoy's internal origin (see client-address.ts). */
  private internalRequest = false;
  /** The incoming x-forwarded-for values, joined; undefined when none came. */
  private incomingXff: string | undefined;
  /** The router's overrides from x-envoy-* request headers, when any came (envoy-request-headers.ts). */
  private overrides: RouterOverrides | undefined;
  /** The request id is one this proxy generated (a UUID), not one that came in. */
  requestIdGenerated = false;
  /** The response carries the request id (Envoy: alwaysSetRequestIdInResponse, or x-envoy-force-trace on a request that may steer). */
  private requestIdInResponse = false;
  /** The response head sent downstream; kept only for an access log format that reads it (%RESP(...)%). */
  responseHeaders: readonly string[] | undefined;
  /** The response's trailers; kept only for an access log format that reads them (%TRAILER(...)%). */
  responseTrailers: readonly string[] | undefined;
  /** performance.now() when the last request byte came from the downstream, and when it went upstream; 0 until then, and unless a format reads them. */
  requestEndAt = 0;
  upstreamRequestEndAt = 0;
  /** The W3C traceparent sent upstream, for the access log. */
  traceparent: string | undefined;
  /** Set by the codec: the client asked for an upgrade the connection manager has no upgradeConfigs entry for. */
  upgradeRefused = false;
  /** Set by the codec: the request body has fully arrived. */
  requestComplete = false;
  /** The allowed Origin when the route's CORS policy applies to this request (cors-filter.ts); undefined otherwise. */
  corsOrigin: string | undefined = undefined;
  /** The request's trailers, kept for an upstream request that starts (or starts again) after they came. */
  private requestTrailers: string[] | undefined;
  private requestBody: Buffer[] | undefined;
  private requestBodyBytes = 0;
  private canRetry: boolean;
  private retryPolicy: RetryPolicy | undefined;
  private clusterName = '';
  /** The :path sent upstream, after the route's rewrite ('' before routing): Envoy's router rewrites :path in place, so %REQ(:PATH)% logs it. */
  upstreamPath = '';
  /** x-envoy-original-path as the request carries it upstream: the path as received when the route rewrote it, else the client's own. */
  originalPath: string | undefined;
  private upstreamAuthority = '';
  /** The upstream request's :scheme (HTTP/2): the request's, or the upstream transport's with schemeHeaderTransformation.matchUpstream. */
  private upstreamScheme: 'http' | 'https' = 'http';
  private upstreamHeaders: string[] = [];
  private discardResponse = false;
  /**
   * The downstream response ended with its head (HEAD, 204, 304, an empty body): the downstream may
   * already be serving its next request, so what the upstream does after this never reaches it.
   */
  private responseEnded = false;
  /** performance.now() when the request must have fully arrived (the listener's requestTimeout); 0 = none. */
  requestDeadline = 0;
  /** performance.now() when the route timeout fires; 0 = none (see stream-deadlines). */
  routeDeadline = 0;
  /** performance.now() when the current attempt's per-try timeout fires; 0 = none. */
  perTryDeadline = 0;
  listSlot = -1;
  private retryOverflow = false;
  /** A failure the policy retries came when no retry was left: Envoy's URX flag. */
  private retryLimitReached = false;
  private holdingRequestsBreaker = false;
  /** A slot of the cluster's maxRetries, held from the first retry until the stream finishes. */
  private holdingRetryBreaker = false;
  private hostHeld = false;
  private hasRequestBody: boolean;
  private pendingBody: Buffer[] | undefined;
  /** The fault filter's delay or abort on this request; undefined on every request it left alone. */
  faultInjection: FaultInjection | undefined;
  constructor(
    readonly ctx: HttpListenerContext,
    readonly head: RequestHead,
    readonly downstream: DownstreamResponder,
    /** Request body length as announced, -1 when streamed, 0 when there is none. */
    readonly requestContentLength: number,
    readonly peerPrincipal: string,
    /** The Upgrade protocol the downstream asked for and the listener allows (e.g. "websocket"). */
    readonly upgrade: string | undefined,
  ) {
    ctx.stats.requestsActive++;
    this.hasRequestBody = requestContentLength !== 0;
    // A body up to the listener's buffer limit is kept so the request can be retried (Envoy's retry buffer).
    this.canRetry = requestContentLength <= ctx.bufferLimitBytes;
  }

  /** Routes the request and starts the first upstream attempt (or answers locally). */
  start(): void {
    const hcm = this.ctx.hcm;
    if (this.requestComplete && this.ctx.accessLogReads.timings) this.requestEndAt = performance.now();
    if (hcm.requestTimeout > 0 && !this.requestComplete) {
      this.requestDeadline = performance.now() + hcm.requestTimeout;
      streamDeadlines.watch(this, this.requestDeadline);
    }
    const underscores = hcm.commonHttpProtocolOptions.headersWithUnderscoresAction;
    if (underscores !== 'ALLOW' && !this.applyUnderscoreAction(underscores)) return;
    const slashes = hcm.pathWithEscapedSlashesAction;
    let redirectToUnescaped = false;
    if (slashes !== 'KEEP_UNCHANGED' && hasEscapedSlash(this.head.path)) {
      if (slashes === 'REJECT_REQUEST') {
        this.localReply(400, ResponseFlag.DownstreamProtocolError, 'escaped_slashes_in_path', 'escaped slash in path');
        return;
      }
      this.head.path = unescapeSlashes(this.head.path);
      redirectToUnescaped = slashes === 'UNESCAPE_AND_REDIRECT';
    }
    if (hcm.normalizePath) this.head.path = normalizeRequestTarget(this.head.path, hcm.mergeSlashes);
    if (redirectToUnescaped) {
      this.redirectToNormalizedPath();
      return;
    }
    // Envoy's scheme_to_overwrite: routing, redirects, x-forwarded-proto and the upstream all see this scheme.
    const scheme = hcm.schemeHeaderTransformation.schemeToOverwrite;
    if (scheme !== undefined) this.head.scheme = scheme;
    const table = this.ctx.routeTable();
    this.classifyClient(table);
    const route = table?.match(this.head);
    if (!route) {
      // The fault filter runs before the router, whose reply this is.
      const fault = table?.fault;
      if (fault !== undefined && FaultInjection.inject(this, fault, this.ctx.stats)) return;
      this.localReply(404, ResponseFlag.NoRouteFound, 'route_not_found', '');
      return;
    }
    this.route = route;
    if (this.upgradeRefused) {
      this.localReply(403, ResponseFlag.None, 'upgrade_failed', '');
      return;
    }
    // Envoy's route idle_timeout overrides the listener's stream_idle_timeout (0 turns it off).
    const idle = route.route.route?.idleTimeout;
    if (idle !== undefined) this.downstream.setStreamIdleTimeout(idle);
    // The one check a route without a fault pays.
    const fault = route.fault;
    if (fault !== undefined && FaultInjection.inject(this, fault, this.ctx.stats)) return;
    this.routeRequest(route);
  }

  /** The CORS filter, then the router's part: a direct response, a redirect, or the cluster and the first upstream attempt. */
  private routeRequest(route: RouteMatchResult): void {
    // Envoy's CORS filter runs after the fault filter (Istio's order) and before the router; routes without a policy pay this one check.
    const cors = route.cors;
    if (cors !== undefined && this.ctx.runsCorsFilter) {
      const preflight = cors.decode(this);
      if (preflight !== undefined) {
        // Envoy's filter encodes this answer itself, not as a local reply: the route's response header edits are not made.
        this.sendLocal(200, preflight, '', CORS_RESPONSE_DETAILS, false);
        return;
      }
    }
    const r = route.route;
    if (r.directResponse) {
      this.localReply(r.directResponse.status, ResponseFlag.None, 'direct_response', r.directResponse.body?.inlineString ?? '');
      return;
    }
    if (r.redirect) {
      const location = route.redirectLocation(this.head);
      this.sendLocal(r.redirect.responseCode, ['location', location], '', 'redirect');
      return;
    }
    // A fault for one upstream cluster may have picked it already.
    if (this.clusterName === '') this.clusterName = route.pickCluster(Math.random());
    const cluster = this.ctx.clusters.get(this.clusterName);
    if (!cluster) {
      this.localReply(503, ResponseFlag.NoClusterFound, 'cluster_not_found', 'no cluster');
      return;
    }
    this.cluster = cluster;
    if (!cluster.tryAcquire('requests')) {
      this.failReset(ResetReason.Overflow, undefined);
      return;
    }
    this.holdingRequestsBreaker = true;
    this.buildUpstreamHead(route);
    this.retryPolicy = route.retryPolicy;
    this.routeTimeoutMs = route.timeout;
    if (this.overrides !== undefined) this.applyRouterOverrides(this.overrides);
    const fitsBuffer = this.canRetry;
    this.canRetry = fitsBuffer && this.retryPolicy !== undefined && this.retryPolicy.numRetries > 0;
    // The body is kept for a retry, and towards HTTP/2 for a stream the upstream refuses (REFUSED_STREAM,
    // or past a GOAWAY's last id): it did no work on it, so it goes again (RFC 9113 §8.7).
    if (this.hasRequestBody && (this.canRetry || (fitsBuffer && cluster.http2))) {
      // What came during a fault's delay is kept from its first byte.
      this.requestBody = this.pendingBody ?? [];
      this.requestBodyBytes = this.requestBytes;
      this.pendingBody = undefined;
    }
    if (route.maxStreamDuration !== undefined) {
      const limit = this.streamDurationLimit(route.maxStreamDuration);
      if (limit > 0) this.durationDeadline = performance.now() + limit;
    }
    this.armRouteDeadline();
    this.attempt();
  }

  /** The cluster a fault limited to one upstream cluster compares (a weighted route picks it here, once). */
  faultCluster(): string | undefined {
    const route = this.route;
    if (route === undefined || route.route.route === undefined) return undefined;
    if (this.clusterName === '') this.clusterName = route.pickCluster(Math.random());
    return this.clusterName;
  }

  /** The fault filter's abort: Envoy's local reply, trailers-only to gRPC (with the abort's grpc-status when it has one). */
  faultAbort(httpStatus: number, grpcStatus: number | undefined): void {
    this.localReply(httpStatus, ResponseFlag.FaultInjected, FAULT_ABORT_DETAILS, FAULT_ABORT_BODY, grpcStatus);
  }

  /** A fault's delay is over: the request goes on to the router (or gets its 404). */
  faultDelayOver(): void {
    if (this.route === undefined) this.localReply(404, ResponseFlag.NoRouteFound, 'route_not_found', '');
    else this.routeRequest(this.route);
  }

  /**
   * The stream's deadline, as Envoy times it: the route timeout runs from the end of the downstream
   * request (a long upload is paced by the stream idle timeout, not cut at 15 s), maxStreamDuration
   * from the start of the stream. Whichever falls first is armed; called at routing and again when
   * the request completes.
   */
  private armRouteDeadline(): void {
    let due = this.durationDeadline;
    let limited = due > 0;
    if (this.requestComplete && this.routeTimeoutMs > 0) {
      const timeoutDue = performance.now() + this.routeTimeoutMs;
      if (due === 0 || timeoutDue < due) {
        due = timeoutDue;
        limited = false;
      }
    }
    if (due === 0) return;
    this.durationLimited = limited;
    this.routeDeadline = due;
    streamDeadlines.watch(this, due);
  }

  /** A try's deadline runs from when its request is wholly sent, as Envoy's per_try_timeout does. */
  private armPerTryDeadline(): void {
    const perTry = this.retryPolicy?.perTryTimeout;
    if (perTry === undefined || perTry <= 0 || !this.requestComplete) return;
    this.perTryDeadline = performance.now() + perTry;
    streamDeadlines.watch(this, this.perTryDeadline);
  }

  /**
   * The route's hard limit on this exchange in ms (0 = none): maxStreamDuration, or, for a gRPC request
   * with grpc-timeout when grpcTimeoutHeaderMax is set, the client's own deadline less the offset
   * (capped by grpcTimeoutHeaderMax unless 0), as Envoy applies it.
   */
  private streamDurationLimit(msd: MaxStreamDuration): number {
    if (msd.grpcTimeoutHeaderMax !== undefined && this.isGrpc) {
      const requested = grpcTimeoutMs(headerValue(this.head.headers, 'grpc-timeout'));
      if (requested !== undefined) {
        const limit = Math.max(requested - msd.grpcTimeoutHeaderOffset, 1);
        return msd.grpcTimeoutHeaderMax > 0 ? Math.min(limit, msd.grpcTimeoutHeaderMax) : limit;
      }
    }
    return msd.maxStreamDuration;
  }

  /**
   * Envoy's UNESCAPE_AND_REDIRECT: the client is sent to the unescaped (and normalized) path with a 307,
   * so every party on the way sees the same path; a gRPC client, which cannot follow it, gets INTERNAL.
   */
  private redirectToNormalizedPath(): void {
    if (this.isGrpc) {
      this.localReply(400, ResponseFlag.None, 'path_normalization_failed', 'escaped slash in path', GRPC_INTERNAL);
      return;
    }
    this.sendLocal(307, ['location', this.head.path], '', 'path_normalization_failed');
  }

  /** Envoy's headersWithUnderscoresAction, before routing sees the headers; false when the request was refused. */
  private applyUnderscoreAction(action: 'REJECT_REQUEST' | 'DROP_HEADER'): boolean {
    const h = this.head.headers;
    let kept: string[] | undefined;
    for (let i = 0; i < h.length; i += 2) {
      if (!h[i]!.includes('_')) {
        kept?.push(h[i]!, h[i + 1]!);
        continue;
      }
      if (action === 'REJECT_REQUEST') {
        this.localReply(400, ResponseFlag.DownstreamProtocolError, 'unexpected_underscore', 'header name with underscore');
        return false;
      }
      kept ??= h.slice(0, i);
    }
    if (kept !== undefined) this.head.headers = kept;
    return true;
  }

  /**
   * Decides the trusted client address and whether the request is internal (client-address.ts), and
   * so the request id; then removes what a request that is not internal may not carry, before routing
   * as Envoy does: the route configuration's internalOnlyHeaders, and at the edge the x-envoy-* headers
   * that steer a proxy.
   */
  private classifyClient(table: RouteTable | undefined): void {
    const hcm = this.ctx.hcm;
    const h = this.head;
    const src = h.headers;
    let xff: string | undefined;
    let incomingRequestId: string | undefined;
    let steering = false;
    let forceTrace = false;
    for (let i = 0; i < src.length; i += 2) {
      const name = src[i]!;
      if (name.charCodeAt(0) !== 0x78) continue;
      if (name === 'x-forwarded-for') xff = xff === undefined ? src[i + 1] : `${xff}, ${src[i + 1]}`;
      else if (name === 'x-request-id') incomingRequestId ??= src[i + 1];
      else if (name.startsWith('x-envoy-')) {
        steering = true;
        if (name === 'x-envoy-force-trace') forceTrace = true;
      }
    }
    const client = clientAddress(h.remoteAddress, xff, hcm.useRemoteAddress, hcm.xffNumTrustedHops);
    this.incomingXff = xff;
    this.clientAddress = client.address;
    this.internalRequest = client.internal;
    const edge = hcm.useRemoteAddress;
    // Before routing, as Envoy sets it: a local reply (404, direct response) has the id too.
    this.requestIdFor(incomingRequestId, edge && !client.internal);
    // An external request's x-envoy-force-trace is stripped at the edge below, so it asks for nothing.
    this.requestIdInResponse = hcm.alwaysSetRequestIdInResponse || (forceTrace && (client.internal || !edge));
    if (client.internal) return;
    const internalOnly = table?.internalOnlyHeaders ?? [];
    if (!(steering && edge) && internalOnly.length === 0) return;
    const kept: string[] = [];
    for (let i = 0; i < src.length; i += 2) {
      const name = src[i]!;
      if ((edge && isEdgeStripped(name)) || internalOnly.includes(name)) continue;
      kept.push(name, src[i + 1]!);
    }
    h.headers = kept;
  }

  /** Applies x-envoy-upstream-rq-timeout-ms, x-envoy-retry-on and the rest to this request's timeout and retry policy. */
  private applyRouterOverrides(o: RouterOverrides): void {
    if (o.timeoutMs !== undefined) this.routeTimeoutMs = o.timeoutMs;
    const base = this.retryPolicy;
    // x-envoy-max-retries alone changes nothing where no retry policy says what to retry on.
    if (o.retryOn === undefined && o.perTryTimeoutMs === undefined && (o.maxRetries === undefined || base === undefined)) return;
    const from = base ?? RETRY_POLICY_DEFAULTS;
    this.retryPolicy = {
      ...from,
      retryOn: o.retryOn === undefined ? from.retryOn : [...new Set([...from.retryOn, ...o.retryOn])],
      // Envoy retries once when the header asks for retries without saying how many.
      numRetries: o.maxRetries ?? base?.numRetries ?? (o.retryOn !== undefined ? 1 : 0),
      perTryTimeout: o.perTryTimeoutMs ?? from.perTryTimeout,
    };
  }

  private buildUpstreamHead(route: RouteMatchResult): void {
    const h = this.head;
    let originalPath: string | undefined;
    this.upstreamAuthority = route.hostRewrite ?? h.authority;
    this.upstreamScheme = this.ctx.hcm.schemeHeaderTransformation.matchUpstream ? (this.cluster!.model.transportSocket ? 'https' : 'http') : h.scheme;
    const src = h.headers;
    const tokens = connectionTokens(src);
    const out: string[] = [];
    const xff = this.incomingXff;
    let xfcc: string | undefined;
    let sawForwardedProto = false;
    const hcm = this.ctx.hcm;
    for (let i = 0; i < src.length; i += 2) {
      const name = src[i]!;
      if (name === 'host' || name === 'content-length' || isHopByHop(name, tokens)) {
        // gRPC needs "te: trailers" end to end on HTTP/2.
        if (name === 'te' && this.cluster?.http2 && src[i + 1]!.toLowerCase() === 'trailers') out.push('te', 'trailers');
        continue;
      }
      if (name === 'x-forwarded-for') continue;
      if (name === 'x-forwarded-proto') {
        // Trusted only from a trusted proxy (xffNumTrustedHops > 0), as Envoy; otherwise this proxy says what the
        // connection was (or the scheme the config overwrites it with).
        if (hcm.xffNumTrustedHops === 0 || hcm.schemeHeaderTransformation.schemeToOverwrite !== undefined) continue;
        sawForwardedProto = true;
      }
      // Envoy's internal-origin markers: set by this proxy from the trusted client address, never taken from a client.
      if (name === 'x-envoy-internal' || (name === 'x-envoy-external-address' && hcm.useRemoteAddress)) continue;
      if (name === 'x-forwarded-client-cert') {
        xfcc = xfcc === undefined ? src[i + 1] : `${xfcc},${src[i + 1]}`;
        continue;
      }
      // Decided before routing (classifyClient), by Envoy's rules for internal and edge requests.
      if (name === 'x-request-id') continue;
      if (name.charCodeAt(0) === 0x78) {
        // The router's overrides are consumed here, so the next hop does not apply them again.
        if (isRouterOverride(name)) {
          this.overrides = readRouterOverride(name, src[i + 1]!, this.overrides);
          continue;
        }
        if (name === 'x-envoy-original-path') {
          // A rewrite replaces the client's value with the path as received (Envoy's setEnvoyOriginalPath).
          if (route.rewritesPath) continue;
          originalPath = src[i + 1]!;
        }
      }
      out.push(name, src[i + 1]!);
    }
    if (hcm.useRemoteAddress) out.push('x-forwarded-for', xff === undefined ? h.remoteAddress : `${xff}, ${h.remoteAddress}`);
    else if (xff !== undefined) out.push('x-forwarded-for', xff);
    if (!sawForwardedProto) out.push('x-forwarded-proto', h.scheme);
    if (this.internalRequest) out.push('x-envoy-internal', 'true');
    else if (hcm.useRemoteAddress) out.push('x-envoy-external-address', this.clientAddress);
    // Sanitized by default; only a connection with a client certificate can add to it.
    if (hcm.forwardClientCertDetails !== 'SANITIZE') {
      const value = forwardedClientCert(hcm.forwardClientCertDetails, hcm.setCurrentClientCertDetails, h.downstreamTls, xfcc);
      if (value !== undefined) out.push('x-forwarded-client-cert', value);
    }
    if (this.requestId) out.push('x-request-id', this.requestId);
    // HTTP/2 has no Upgrade (RFC 9113 §8.2.2; node throws on the fields, and the request failed as if the
    // host had): towards an HTTP/2 cluster the upgrade is ignored, as RFC 9110 §7.8 lets a server do.
    if (this.upgrade !== undefined && !this.cluster?.http2) out.push('connection', 'upgrade', 'upgrade', this.upgrade);
    // Envoy's tracing.randomSampling: the share of traces without a sampling decision that get one.
    const sampling = this.ctx.hcm.tracingRandomSampling;
    this.traceparent = this.ctx.propagateTrace(out, sampling > 0 && (sampling >= 100 || Math.random() * 100 < sampling));
    // Envoy rewrites the path after the route's header edits, so their %REQ(:PATH)% is the path as received.
    route.applyRequestHeaders(out, this);
    this.upstreamPath = route.rewritePath(h.path);
    if (route.rewritesPath) {
      originalPath = h.path;
      out.push('x-envoy-original-path', originalPath);
    }
    this.originalPath = originalPath;
    if (route.includeAttemptCount) {
      // The value is the attempt number: attempt() rewrites it in place before each try.
      out.push('x-envoy-attempt-count', '1');
      this.attemptCountAt = out.length - 1;
    }
    this.upstreamHeaders = out;
  }

  /** The x-request-id to send, by Envoy's rules (resolveRequestId); notes whether this proxy made it. */
  private requestIdFor(incoming: string | undefined, edgeRequest: boolean): void {
    const id = resolveRequestId(incoming, this.ctx.hcm, edgeRequest, this.ctx.newRequestId);
    if (id !== undefined) {
      this.requestId = id;
      this.requestIdGenerated = id !== incoming;
    }
  }

  private attempt(): void {
    const cluster = this.cluster!;
    this.attempts++;
    const host = this.attempts > 1 && this.retryPolicy?.avoidPreviousHosts ? this.chooseUntriedHost(cluster) : cluster.chooseHost(this.hashKey());
    if (!host) {
      this.fail(503, ResponseFlag.NoHealthyUpstream, 'no_healthy_upstream');
      return;
    }
    this.host = host;
    // Envoy's autoHostRewrite: Host names the endpoint chosen for this try (a DNS name, or the endpoint's hostname).
    if (host.hostname !== '' && this.route!.route.route!.autoHostRewrite) this.upstreamAuthority = host.hostname;
    if (this.attemptCountAt >= 0) this.upstreamHeaders[this.attemptCountAt] = String(this.attempts);
    host.activeRequests++;
    this.hostHeld = true;
    this.phase = Phase.WaitingUpstream;
    this.upstreamStart = performance.now();
    this.armPerTryDeadline();
    const queued = cluster.http2 ? cluster.h2Session(host).acquire(this) : cluster.h1Pool(host).acquire(this, this.head.method === 'HEAD');
    if (!queued) {
      this.releaseHost();
      this.failReset(ResetReason.Overflow, undefined);
    }
  }

  private hashKey(): string | undefined {
    const policies = this.route!.route.route!.hashPolicy;
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i]!;
      if (p.header) {
        const v = headerValue(this.head.headers, p.header.headerName);
        if (v !== undefined) return v;
      } else if (p.connectionProperties?.sourceIp) return this.clientAddress || this.head.remoteAddress;
    }
    return undefined;
  }

  onUpstreamReady(request: UpstreamRequest): void {
    if (this.phase === Phase.Done) {
      request.abandon();
      return;
    }
    this.upstream = request;
    // Envoy's upstream_rq_total: each try that gets a connection or stream.
    this.cluster!.requestStats.total++;
    this.upstreamLocalAddress = request.localEndpoint;
    this.phase = Phase.Forwarding;
    // An upgrade the upstream refuses leaves a connection some servers no longer read as HTTP
    // (Node hands the socket to its 'upgrade' handler): it is never pooled again.
    if (this.upgrade !== undefined && request instanceof H1UpstreamConnection) request.markNoReuse();
    const bodyless = !this.hasRequestBody;
    request.sendHead(this.head.method, this.upstreamPath, this.upstreamAuthority, this.upstreamScheme, this.upstreamHeaders, {
      contentLength: this.requestContentLength,
      endStream: bodyless,
    });
    if (bodyless) {
      this.noteUpstreamRequestEnd();
      return;
    }
    const held = this.requestBody ?? this.pendingBody;
    this.pendingBody = undefined;
    if (held !== undefined) for (let i = 0; i < held.length; i++) request.sendBody(held[i]!);
    if (this.requestComplete) {
      request.sendEnd(this.requestTrailers);
      this.noteUpstreamRequestEnd();
    } else this.downstream.resumeRequestBody();
  }

  /** Request body bytes from the downstream codec. */
  onRequestBody(chunk: Buffer): void {
    this.requestBytes += chunk.length;
    if (this.requestBody !== undefined) {
      this.requestBodyBytes += chunk.length;
      if (this.requestBodyBytes > this.ctx.bufferLimitBytes) {
        // Too big to replay: stream it and give up retries for this request.
        this.canRetry = false;
        const held = this.requestBody;
        this.requestBody = undefined;
        if (this.upstream === undefined) {
          this.pendingBody = held;
          this.pendingBody.push(chunk);
          this.downstream.pauseRequestBody();
          return;
        }
      } else this.requestBody.push(chunk);
    }
    const up = this.upstream;
    if (up === undefined || this.phase === Phase.Routing || this.phase === Phase.WaitingUpstream) {
      if (this.requestBody === undefined) {
        (this.pendingBody ??= []).push(chunk);
        this.downstream.pauseRequestBody();
      }
      return;
    }
    if (this.phase === Phase.Done) return;
    if (!up.sendBody(chunk)) this.downstream.pauseRequestBody();
  }

  /** The request body ended (trailers from HTTP/2 or chunked HTTP/1.1). */
  onRequestEnd(trailers: string[] | undefined): void {
    this.requestComplete = true;
    if (this.ctx.accessLogReads.timings && this.requestEndAt === 0) this.requestEndAt = performance.now();
    this.requestTrailers = trailers;
    this.requestDeadline = 0;
    if (this.phase !== Phase.Done && this.phase !== Phase.Routing) {
      this.armRouteDeadline();
      if (this.phase === Phase.WaitingUpstream || this.phase === Phase.Forwarding) this.armPerTryDeadline();
    }
    const up = this.upstream;
    if (up === undefined || this.phase === Phase.WaitingUpstream || this.phase === Phase.Done) return;
    if (this.hasRequestBody) {
      up.sendEnd(trailers);
      this.noteUpstreamRequestEnd();
    }
  }

  /** %REQUEST_TX_DURATION%'s end: the request's last byte handed to the upstream (a retry's replaces an earlier try's). */
  private noteUpstreamRequestEnd(): void {
    if (this.ctx.accessLogReads.timings) this.upstreamRequestEndAt = performance.now();
  }

  onUpstreamDrain(): void {
    this.downstream.resumeRequestBody();
  }

  /** Called by the responder when the downstream can take more. */
  onDownstreamDrain(): void {
    this.upstream?.resumeResponse();
  }

  onUpstreamConnectFailure(reason: string, transportFailureReason?: string): void {
    if (this.phase === Phase.Done) return;
    this.clearPerTry();
    this.releaseHost();
    this.cluster!.recordOutcome(this.host!, 'connect-failure');
    this.upstream = undefined;
    if (this.shouldRetry('connect-failure', 0)) return;
    // The reply and the details say why, as Envoy's do ("delayed connect error: Connection refused", "TLS_error:...").
    const failure = connectFailureReason(reason, transportFailureReason);
    // Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON% names a refused connect too, not only a TLS failure.
    this.upstreamTransportFailureReason = failure.transportFailure === undefined ? undefined : blanksAsUnderscores(failure.transportFailure);
    this.failReset(failure.reason, failure.transportFailure);
  }

  onResponseHead(head: H1Head): void {
    if (this.phase === Phase.Done) return;
    // Envoy's request_timeout ends when the response begins.
    this.requestDeadline = 0;
    const status = head.statusCode;
    if (this.retryPolicy && retriesResponse(retryConditions(this.retryPolicy), status, head.headers, this) && this.shouldRetryLater(status)) {
      this.discardResponse = true;
      // Over HTTP/2 the try's stream is reset now (its body may never end; the connection stays);
      // an HTTP/1.1 try waits for the end of the read that carried the head (onUpstreamReadEnd).
      if (!(this.upstream instanceof H1UpstreamConnection)) {
        this.upstream?.abandon();
        this.onResponseComplete(undefined);
      }
      return;
    }
    this.clearPerTry();
    // Past the head no stream is refused: a body kept only for that is let go.
    if (!this.canRetry) this.requestBody = undefined;
    this.phase = Phase.ResponseStreaming;
    this.responseStatus = status;
    this.routedStatus = status;
    if (status === 101) {
      this.startTunnel(head);
      return;
    }
    const out = this.responseHeadersFrom(head.headers);
    if (this.ctx.accessLogReads.responseHeaders) this.responseHeaders = out;
    if (this.isGrpc) this.grpcStatus = grpcStatusIn(head.headers);
    const noBody = this.head.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    const length = head.chunked || head.bodyUntilClose ? -1 : head.contentLength;
    const endStream = noBody || length === 0;
    this.responseEnded = endStream;
    // An HTTP/1.1 upstream says when the read that carried this head is done (onUpstreamReadEnd), so
    // the head can wait for body bytes from the same read and leave with them in one write.
    // A HEAD's answer announces the framing a GET would get: chunked, not "content-length: 0", when no length is known.
    const announced = this.head.method === 'HEAD' && status !== 204 && status !== 304 ? length : Math.max(length, 0);
    this.downstream.sendHead(status, out, noBody ? announced : length, endStream, this.upstream instanceof H1UpstreamConnection);
  }

  /**
   * The head the client gets from an upstream's: hop-by-hop fields dropped, then the server header,
   * the upstream service time, the request id and the route's edits, as Envoy makes every response
   * (a 101 included).
   */
  private responseHeadersFrom(src: string[]): string[] {
    this.upstreamServiceTimeMs = performance.now() - this.upstreamStart;
    const tokens = connectionTokens(src);
    const out: string[] = [];
    const hcm = this.ctx.hcm;
    const serverMode = hcm.serverHeaderTransformation;
    let upstreamServer = false;
    for (let i = 0; i < src.length; i += 2) {
      const name = src[i]!;
      if (name === 'content-length' || isHopByHop(name, tokens)) continue;
      if (name === 'server') {
        if (serverMode === 'OVERWRITE') continue;
        upstreamServer = true;
      }
      out.push(name, src[i + 1]!);
    }
    // Envoy's server_header_transformation: by default every response names this proxy, not the upstream's software.
    if (serverMode === 'OVERWRITE' || (serverMode === 'APPEND_IF_ABSENT' && !upstreamServer)) out.push('server', hcm.serverName);
    out.push('x-envoy-upstream-service-time', String(Math.round(this.upstreamServiceTimeMs)));
    if (this.requestIdInResponse && this.requestId) out.push('x-request-id', this.requestId);
    this.route!.applyResponseHeaders(out, this);
    if (this.corsOrigin !== undefined) this.route!.cors!.encode(out, this.corsOrigin);
    return out;
  }

  /**
   * An upstream's interim response (103 Early Hints, 102 Processing) goes on to the client ahead of
   * the final one. The client has then heard from this try: no retry or replay may follow, since
   * another host's answer would not continue what it read. The log and metrics keep the final status.
   */
  onInterimResponse(status: number, headers: string[]): void {
    if (this.phase !== Phase.Forwarding || this.discardResponse || !isForwardedInterim(status)) return;
    if (this.interimResponses >= MAX_INTERIM_RESPONSES) {
      this.cluster!.countDroppedInterimResponse();
      return;
    }
    if (!this.downstream.sendInterim(status, interimResponseHeaders(headers))) return;
    this.interimResponses++;
    this.canRetry = false;
    // Kept only to go again: past a forwarded interim response nothing goes again.
    this.requestBody = undefined;
  }

  onUpstreamReadEnd(): void {
    if (this.phase === Phase.ResponseStreaming) this.downstream.flushHead();
    else if (this.discardResponse) {
      // The body of a response being retried did not come with its head: rather than wait for it
      // (it may never end), the try is reset and the retry goes now, as Envoy does.
      this.upstream?.abandon();
      this.onResponseComplete(undefined);
    }
  }

  private startTunnel(head: H1Head): void {
    const up = this.upstream;
    if (this.upgrade === undefined || !(up instanceof H1UpstreamConnection)) {
      // Nothing has gone downstream yet: the client gets a 502, and the connection (now a tunnel to
      // nowhere) is closed rather than left holding this stream.
      up?.abandon();
      this.phase = Phase.Forwarding;
      this.onUpstreamReset(ResetReason.ProtocolError, false, false);
      return;
    }
    const headers = this.responseHeadersFrom(head.headers);
    // The switch itself is hop by hop: the client is told, in the upstream's words, what the connection now speaks.
    headers.push('connection', 'Upgrade', 'upgrade', headerValue(head.headers, 'upgrade') ?? this.upgrade);
    if (this.ctx.accessLogReads.responseHeaders) this.responseHeaders = headers;
    this.disarmRouteTimeout();
    this.cluster!.recordOutcome(this.host!, 101);
    this.releaseHost();
    this.upstream = undefined;
    const tunnel = up.detachForTunnel();
    this.downstream.startTunnel(headers, tunnel.socket, tunnel.head, this);
  }

  /**
   * The route timeout bounds the wait for the upgrade's answer, not the tunnel after it: Envoy
   * disarms it on the 101, or every WebSocket would be cut at 15 s. maxStreamDuration (or the gRPC
   * deadline) still ends the stream.
   */
  private disarmRouteTimeout(): void {
    this.routeTimeoutMs = 0;
    this.routeDeadline = 0;
    if (this.durationDeadline > 0) {
      this.durationLimited = true;
      this.routeDeadline = this.durationDeadline;
      streamDeadlines.watch(this, this.durationDeadline);
    }
  }

  /**
   * One side of the tunnel reset it: the log says which, as Envoy's does for a stream cut short after
   * its response began (UC, or DC for the client). A tunnel that ends with a FIN each way has no flag.
   */
  onTunnelReset(by: 'downstream' | 'upstream'): void {
    if (by === 'downstream') {
      this.responseFlags = addResponseFlag(this.responseFlags, ResponseFlag.DownstreamConnectionTermination);
      this.responseDetails = 'downstream_remote_disconnect';
    } else {
      this.responseFlags = addResponseFlag(this.responseFlags, ResponseFlag.UpstreamConnectionTermination);
      this.responseDetails = upstreamResetDetails(true, ResetReason.ConnectionTermination);
    }
  }

  /** The tunnel (WebSocket or other upgrade) closed; bytes are counted by the codec. */
  onTunnelClosed(sent: number, received: number): void {
    this.requestBytes += received;
    this.responseBytes += sent;
    this.finish();
  }

  onResponseBody(chunk: Buffer): void {
    if (this.discardResponse || this.phase !== Phase.ResponseStreaming || this.responseEnded) return;
    this.responseBytes += chunk.length;
    if (!this.downstream.sendBody(chunk)) {
      this.upstream?.pauseResponse();
      this.downstream.notifyDrain(this);
    }
  }

  onResponseComplete(trailers: string[] | undefined): void {
    if (this.discardResponse) {
      this.discardResponse = false;
      this.upstream = undefined;
      this.clearPerTry();
      this.releaseHost();
      this.retryAfterBackoff();
      return;
    }
    if (this.phase !== Phase.ResponseStreaming) return;
    if (this.ctx.accessLogReads.responseTrailers) this.responseTrailers = trailers;
    if (trailers !== undefined && this.isGrpc) {
      const status = grpcStatusIn(trailers);
      if (status >= 0) this.grpcStatus = status;
    }
    this.cluster!.recordOutcome(this.host!, this.responseStatus);
    this.releaseHost();
    this.upstream = undefined;
    const noBody = this.head.method === 'HEAD' || this.responseStatus === 204 || this.responseStatus === 304;
    if (!this.responseEnded) this.downstream.sendEnd(noBody ? undefined : trailers);
    this.finish();
  }

  onUpstreamReset(reason: ResetReasonText, responseStarted: boolean, unprocessed: boolean, connectionLimit = false): void {
    if (this.phase === Phase.Done) return;
    this.clearPerTry();
    this.releaseHost();
    this.upstream = undefined;
    if (this.discardResponse) {
      this.discardResponse = false;
      this.retryAfterBackoff();
      return;
    }
    // The head came in the read that failed (a malformed chunk right after it) and is still held:
    // nothing reached the client, so the response has not begun for it (502, not a cut reply).
    if (responseStarted && this.phase === Phase.ResponseStreaming && this.downstream.withdrawHeldHead()) {
      responseStarted = false;
      this.phase = Phase.Forwarding;
      this.responseEnded = false;
    }
    if (!responseStarted && this.phase !== Phase.ResponseStreaming) {
      // The request never reached the upstream (a stale keep-alive connection, a refused stream): send it
      // again. The bound stops a host that refuses everything; a connection that served others first made progress.
      if (unprocessed && this.interimResponses === 0 && (!this.hasRequestBody || this.requestBody !== undefined) && (connectionLimit || this.attempts < 8)) {
        this.attempt();
        return;
      }
      this.cluster!.recordOutcome(this.host!, 'reset');
      if (this.shouldRetry('reset', 0)) return;
      this.failReset(reason, undefined);
      return;
    }
    this.cluster!.recordOutcome(this.host!, 'reset');
    this.responseFlags = resetFlag(reason);
    this.responseDetails = upstreamResetDetails(true, reason);
    if (!this.responseEnded) this.downstream.abort();
    this.finish();
  }

  /**
   * The head could not be encoded for the upstream (a configured header HTTP/2 cannot carry): a
   * local error, as no host or retry could change it, and never counted against the host.
   */
  onRequestNotEncodable(reason: string): void {
    if (this.phase === Phase.Done) return;
    this.clearPerTry();
    this.releaseHost();
    this.upstream = undefined;
    this.localReply(500, ResponseFlag.None, `request_headers_not_encodable{${reason}}`, 'request headers not encodable for the upstream');
  }

  /** The downstream went away: stop everything and free the upstream. */
  onDownstreamReset(): void {
    if (this.phase === Phase.Done) return;
    if (this.upstream) this.upstream.abandon();
    else this.withdrawFromPool();
    this.releaseHost();
    this.upstream = undefined;
    this.responseFlags = ResponseFlag.DownstreamConnectionTermination;
    this.responseDetails = 'downstream_remote_disconnect';
    this.finish();
  }

  /**
   * The whole request did not arrive within the listener's requestTimeout (a slow upload): 408, as
   * Envoy answers, unless the response has begun; the connection then closes (the body is unread).
   */
  requestTimeout(): void {
    if (this.phase === Phase.Done || this.phase === Phase.ResponseStreaming || this.requestComplete) return;
    this.abandonUpstream(null);
    this.localReply(408, ResponseFlag.None, 'request_overall_timeout', 'request timeout');
  }

  routeTimeout(): void {
    this.routeDeadline = 0;
    if (this.phase === Phase.Done) return;
    this.abandonUpstream('timeout');
    // The stream's own duration limit is the connection manager's (Envoy flags nothing there; UMSDR
    // is a cluster's upstream limit); the route timeout is the router's (UT).
    const flag = this.durationLimited ? ResponseFlag.None : ResponseFlag.UpstreamRequestTimeout;
    if (!this.durationLimited && this.cluster !== undefined) this.cluster.requestStats.routeTimeouts++;
    const details = this.durationLimited ? 'max_duration_timeout' : 'response_timeout';
    if (this.phase === Phase.ResponseStreaming) {
      this.responseFlags = flag;
      this.responseDetails = details;
      if (!this.responseEnded) this.endCutShortResponse();
      this.finish();
      return;
    }
    // A gRPC client whose own deadline ran out reads DEADLINE_EXCEEDED, not UNAVAILABLE.
    if (this.durationLimited) this.localReply(this.timeoutStatus(), flag, details, STREAM_DURATION_TIMEOUT_BODY, GRPC_DEADLINE_EXCEEDED);
    else this.fail(504, flag, details);
  }

  /**
   * The route's limit ended a response already under way. A gRPC call out of its deadline ends with
   * DEADLINE_EXCEEDED in trailers, which its client reads, where a reset reads as INTERNAL; any
   * other response is reset, so the client cannot take it as complete.
   */
  private endCutShortResponse(): void {
    if (this.durationLimited && this.isGrpc && this.downstream.protocol === 'HTTP/2') {
      this.grpcStatus = GRPC_DEADLINE_EXCEEDED;
      const trailers = ['grpc-status', String(GRPC_DEADLINE_EXCEEDED), 'grpc-message', grpcMessage(STREAM_DURATION_TIMEOUT_BODY)];
      if (this.ctx.accessLogReads.responseTrailers) this.responseTrailers = trailers;
      this.downstream.sendEnd(trailers);
    } else {
      this.downstream.abort();
    }
  }

  perTryTimeout(): void {
    this.perTryDeadline = 0;
    if (this.phase === Phase.Done || this.phase === Phase.ResponseStreaming) return;
    if (this.cluster !== undefined) this.cluster.requestStats.perTryTimeouts++;
    this.abandonUpstream('timeout');
    if (this.shouldRetry('timeout', 0)) return;
    this.fail(504, ResponseFlag.UpstreamRequestTimeout, 'upstream_per_try_timeout');
  }

  /**
   * The stream moved no byte in either direction for the listener's stream idle timeout (Envoy's
   * stream_idle_timeout). Before the response has started the client gets 504 or 408 (timeoutStatus); after,
   * all that is left is to reset. Either side may be the silent one, so the host is not blamed.
   */
  streamIdleTimeout(): void {
    if (this.phase === Phase.Done) return;
    this.abandonUpstream(null);
    if (this.phase === Phase.ResponseStreaming) {
      this.responseFlags = ResponseFlag.StreamIdleTimeout;
      this.responseDetails = 'stream_idle_timeout';
      if (!this.responseEnded) this.downstream.abort();
      this.finish();
      return;
    }
    this.localReply(this.timeoutStatus(), ResponseFlag.StreamIdleTimeout, 'stream_idle_timeout', 'stream timeout');
  }

  /**
   * A connection manager timeout's status, as Envoy picks it (maybeRequestTimeoutCode): 504 once the
   * whole request has arrived (the wait was the upstream's, and an HTTP/1.1 connection stays usable),
   * 408 while the client was still sending.
   */
  private timeoutStatus(): number {
    return this.requestComplete ? 504 : 408;
  }

  private abandonUpstream(outcome: 'timeout' | null): void {
    if (this.upstream) this.upstream.abandon();
    else this.withdrawFromPool();
    if (outcome !== null && this.host && this.cluster && this.phase !== Phase.ResponseStreaming) this.cluster.recordOutcome(this.host, outcome);
    this.releaseHost();
    this.upstream = undefined;
    this.discardResponse = false;
  }

  /** Takes this request out of its pool's queue when it is still waiting for a connection or stream. */
  private withdrawFromPool(): void {
    if (this.phase !== Phase.WaitingUpstream || this.host === undefined || this.cluster === undefined) return;
    if (this.cluster.http2) this.cluster.h2Session(this.host).cancel(this);
    else this.cluster.h1Pool(this.host).cancel(this);
  }

  /** Checks the retry budget for a retriable response without starting the retry yet. */
  private shouldRetryLater(_status: number): boolean {
    if (!this.requestComplete) return false;
    if (this.attempts > this.retryPolicy!.numRetries) {
      this.retryLimitReached = true;
      return false;
    }
    if (!this.canRetry) return false;
    if (!this.holdRetryBreaker()) return false;
    this.cluster!.recordOutcome(this.host!, _status);
    return true;
  }

  /** Starts a retry for a failure before the response, when the policy and the budget allow. */
  private shouldRetry(kind: 'connect-failure' | 'reset' | 'timeout', _status: number): boolean {
    const policy = this.retryPolicy;
    if (!policy || !retriesFailure(retryConditions(policy), kind)) return false;
    if (this.hasRequestBody && !this.requestComplete) return false;
    if (this.attempts > policy.numRetries) {
      this.retryLimitReached = true;
      return false;
    }
    if (!this.canRetry || !this.holdRetryBreaker()) return false;
    this.retryAfterBackoff();
    return true;
  }

  /**
   * maxRetries bounds the retries outstanding on the cluster at once, as Envoy counts them: a stream
   * takes a slot for its first retry and keeps it, through any later ones, until it finishes.
   */
  private holdRetryBreaker(): boolean {
    if (this.holdingRetryBreaker) return true;
    if (!this.cluster!.tryAcquire('retries')) {
      this.retryOverflow = true;
      return false;
    }
    this.holdingRetryBreaker = true;
    return true;
  }

  private retryAfterBackoff(): void {
    const b = this.retryPolicy!.retryBackOff;
    this.cluster!.countRetry();
    this.phase = Phase.WaitingUpstream;
    setTimeout(onRetryTimer, retryBackOffMs(this.attempts, b.baseInterval, b.maxInterval, Math.random()), this);
  }

  /**
   * A retry's host under the previous_hosts predicate: up to hostSelectionRetryMaxAttempts picks,
   * stopping at the first host no earlier attempt used; else the last pick (as Envoy does).
   */
  private chooseUntriedHost(cluster: UpstreamCluster): UpstreamHost | undefined {
    const tried = (this.triedHosts ??= []);
    if (this.host !== undefined && !tried.includes(this.host)) tried.push(this.host);
    const key = this.hashKey();
    let host = cluster.chooseHost(key);
    for (let pick = 1; pick < this.retryPolicy!.hostSelectionRetryMaxAttempts && host !== undefined && tried.includes(host); pick++) {
      host = cluster.chooseHost(key);
    }
    return host;
  }

  retryNow(): void {
    if (this.phase === Phase.Done) return;
    this.attempt();
  }

  private clearPerTry(): void {
    this.perTryDeadline = 0;
  }

  private releaseHost(): void {
    if (this.hostHeld) {
      this.hostHeld = false;
      this.host!.activeRequests--;
    }
  }

  private fail(status: number, flag: ResponseFlagCode, details: string, grpcStatus?: number): void {
    this.routedStatus = status;
    this.localReply(status, flag, details, upstreamFailureBody(status, flag), grpcStatus);
  }

  /** A reply for a reset before the response: 502 for a protocol error, else 503, as Envoy's router answers. */
  private failReset(reason: ResetReasonText, transportFailure: string | undefined): void {
    const flag = resetFlag(reason);
    const details = upstreamResetDetails(false, reason, transportFailure);
    this.routedStatus = flag === ResponseFlag.UpstreamProtocolError ? 502 : 503;
    this.localReply(this.routedStatus, flag, details, upstreamResetBody(reason, this.attempts > 1, transportFailure));
  }

  private localReply(status: number, flag: ResponseFlagCode, details: string, body: string, grpcStatus?: number): void {
    this.responseFlags = flag;
    // Envoy marks a request a circuit breaker dropped, so a client (or the next proxy) can back off.
    const extra = flag === ResponseFlag.UpstreamOverflow ? ['x-envoy-overloaded', 'true'] : [];
    if ((status >= 400 || grpcStatus !== undefined) && this.isGrpc) {
      // A gRPC client reads grpc-status: a trailers-only reply, as Envoy sends for gRPC requests.
      this.grpcStatus = grpcStatus ?? grpcStatusForHttp(status);
      extra.push('content-type', 'application/grpc', 'grpc-status', String(this.grpcStatus));
      // Envoy's grpc-message is the reply's body, and there is none when the body is empty.
      if (body) extra.push('grpc-message', grpcMessage(body));
      this.sendLocal(200, extra, '', details);
      return;
    }
    this.sendLocal(status, extra, body, details);
  }

  /** What a configured header value's command operators read (%REQ(x-request-id)%, ...): the access log record so far. */
  templateRecord(): TemplateRecord {
    return httpLogRecord(this, performance.now() - this.startTime, true);
  }

  get requestHeaders(): readonly string[] {
    return this.head.headers;
  }

  /** The request is gRPC (content-type application/grpc): replies and metrics speak gRPC status. */
  get isGrpc(): boolean {
    return (this.grpcRequest ??= isGrpcRequest(this.head.headers));
  }

  private sendLocal(status: number, extra: string[], body: string, details: string, routeEdits = true): void {
    this.responseDetails = details;
    this.responseStatus = status;
    const bytes = body.length === 0 ? undefined : Buffer.from(body);
    const headers = extra;
    if (bytes) headers.push('content-type', 'text/plain');
    if (this.ctx.hcm.serverHeaderTransformation !== 'PASS_THROUGH') headers.push('server', this.ctx.hcm.serverName);
    if (this.requestIdInResponse && this.requestId) headers.push('x-request-id', this.requestId);
    if (this.route && routeEdits) this.route.applyResponseHeaders(headers, this);
    if (this.corsOrigin !== undefined) this.route!.cors!.encode(headers, this.corsOrigin);
    if (this.ctx.accessLogReads.responseHeaders) this.responseHeaders = headers;
    const isHead = this.head.method === 'HEAD';
    this.downstream.sendHead(status, headers, bytes ? bytes.length : 0, !bytes || isHead);
    if (bytes && !isHead) {
      this.responseBytes += bytes.length;
      this.downstream.sendBody(bytes);
      this.downstream.sendEnd(undefined);
    }
    this.finish();
  }

  private finish(): void {
    if (this.phase === Phase.Done) return;
    this.phase = Phase.Done;
    // A retry refused for the policy's limit or the cluster's budget is flagged with the outcome, as Envoy does.
    if (this.retryLimitReached) this.responseFlags = addResponseFlag(this.responseFlags, ResponseFlag.UpstreamRetryLimitExceeded);
    if (this.retryOverflow) this.responseFlags = addResponseFlag(this.responseFlags, ResponseFlag.UpstreamOverflow);
    if (this.faultInjection !== undefined) this.faultInjection.end();
    this.requestDeadline = 0;
    this.routeDeadline = 0;
    this.perTryDeadline = 0;
    streamDeadlines.remove(this);
    if (this.holdingRetryBreaker) {
      this.holdingRetryBreaker = false;
      this.cluster!.release('retries');
    }
    if (this.holdingRequestsBreaker) {
      this.holdingRequestsBreaker = false;
      this.cluster!.release('requests');
    }
    this.pendingBody = undefined;
    this.requestBody = undefined;
    this.ctx.onStreamComplete(this);
  }

  get done(): boolean {
    return this.phase === Phase.Done;
  }

  get upstreamClusterName(): string {
    return this.clusterName;
  }
}

function onRetryTimer(stream: HttpStream): void {
  stream.retryNow();
}
