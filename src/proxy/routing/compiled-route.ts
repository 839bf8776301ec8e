import type RE2 from 're2';
import { re2 } from './re2-module.js';
import type { MaxStreamDuration, RetryPolicy, Route, RouteConfiguration, VirtualHost } from '../../model/route.js';
import { compileCorsPolicy, type CompiledCorsPolicy } from '../http/cors-filter.js';
import { isGrpcContentType } from '../http/grpc-status.js';
import type { RequestHead } from '../http/request-head.js';
import type { CompiledFault } from '../filters/compiled-fault.js';
import { compileHeaderChecks, headersMatch, type HeaderCheck } from './header-checks.js';
import { HeaderMutation, type HeaderValueSource } from './header-mutation.js';
import type { RegexEngine, RegexSet } from './regex-engine.js';
import type { RequestView } from './request-view.js';
import { CompiledStringMatcher } from './string-matcher.js';
import { wireText } from './wire-text.js';

/** What the router needs from a matched route; the compiled route itself, so matching allocates nothing. */
export interface RouteMatchResult {
  readonly route: Route;
  readonly name: string;
  /** The configured name as wire bytes (%ROUTE_NAME% in header values and logs); undefined when it has none. */
  readonly configuredName: string | undefined;
  readonly routeIndex: number;
  /** Whole-request timeout in ms; 0 disables. */
  readonly timeout: number;
  readonly maxStreamDuration: MaxStreamDuration | undefined;
  readonly retryPolicy: RetryPolicy | undefined;
  readonly hostRewrite: string | undefined;
  /** The virtual host asks for x-envoy-attempt-count upstream. */
  readonly includeAttemptCount: boolean;
  /** The route's CORS policy (its own over its virtual host's); undefined when none, the common case. */
  readonly cors: CompiledCorsPolicy | undefined;
  /** The fault filter's policy for this route; undefined when it injects nothing (route-fault.ts). */
  readonly fault: CompiledFault | undefined;
  /** Picks the target cluster; `random` in [0, 1) chooses among weighted clusters. */
  pickCluster(random: number): string;
  /** The route rewrites the path (prefixRewrite or regexRewrite): the request carries x-envoy-original-path upstream. */
  readonly rewritesPath: boolean;
  /** The upstream request target (path and query) after prefix or regex rewrite. */
  rewritePath(target: string): string;
  /** The Location of a redirect route. */
  redirectLocation(req: RequestHead): string;
  /** The route's request header edits on the upstream request's headers; `source` fills in values with command operators. */
  applyRequestHeaders(headers: string[], source: HeaderValueSource): void;
  /** The route's response header edits on the response's headers. */
  applyResponseHeaders(headers: string[], source: HeaderValueSource): void;
}

const enum PathKind {
  Any,
  Exact,
  Prefix,
  SeparatedPrefix,
  Regex,
}

interface QueryCheck {
  name: string;
  matcher: CompiledStringMatcher | undefined;
  present: boolean | undefined;
}

/** Where a route's path regex lives in its virtual host's regex set. */
export interface RegexSlot {
  set: RegexSet;
  id: number;
}

/**
 * One route, compiled: match predicates, rewrite and header edits prepared at config time. Text written
 * onto the wire (rewrites, redirect parts, a host rewrite; not path patterns: both codecs refuse a
 * target with bytes above 0x7F) is held as its UTF-8 bytes (wire-text.ts).
 */
export class CompiledRoute implements RouteMatchResult {
  readonly name: string;
  readonly configuredName: string | undefined;
  readonly timeout: number;
  readonly maxStreamDuration: MaxStreamDuration | undefined;
  readonly retryPolicy: RetryPolicy | undefined;
  readonly hostRewrite: string | undefined;
  readonly includeAttemptCount: boolean;
  readonly cors: CompiledCorsPolicy | undefined;
  readonly fault: CompiledFault | undefined;
  readonly rewritesPath: boolean;
  private readonly pathKind: PathKind;
  private readonly pathOperand: string;
  private readonly caseSensitive: boolean;
  private readonly headerChecks: HeaderCheck[];
  private readonly queryChecks: QueryCheck[];
  private readonly grpcOnly: boolean;
  private readonly clusterNames: string[];
  private readonly cumulativeWeights: number[];
  private readonly regexRewrite: { re: RE2; replacement: string } | undefined;
  private readonly prefixRewrite: string | undefined;
  private readonly redirect: { host: string | undefined; path: string | undefined; prefix: string | undefined } | undefined;
  private readonly requestHeaders: HeaderMutation;
  private readonly responseHeaders: HeaderMutation;
  regexSlot: RegexSlot | undefined;

  constructor(
    readonly route: Route,
    readonly routeIndex: number,
    vh: VirtualHost,
    rc: RouteConfiguration,
    engine: RegexEngine,
    fault: CompiledFault | undefined,
  ) {
    this.fault = fault;
    const m = route.match;
    this.name = route.name ?? `${vh.name}/${routeIndex}`;
    this.configuredName = optionalWireText(route.name);
    this.caseSensitive = m.caseSensitive;
    const fold = (s: string): string => (m.caseSensitive ? s : s.toLowerCase());
    if (m.path !== undefined) [this.pathKind, this.pathOperand] = [PathKind.Exact, fold(m.path)];
    else if (m.prefix !== undefined) [this.pathKind, this.pathOperand] = [m.prefix === '' ? PathKind.Any : PathKind.Prefix, fold(m.prefix)];
    else if (m.pathSeparatedPrefix !== undefined) [this.pathKind, this.pathOperand] = [PathKind.SeparatedPrefix, fold(m.pathSeparatedPrefix)];
    else if (m.safeRegex !== undefined) [this.pathKind, this.pathOperand] = [PathKind.Regex, m.safeRegex.regex];
    else [this.pathKind, this.pathOperand] = [PathKind.Any, ''];

    this.headerChecks = compileHeaderChecks(m.headers, engine);
    this.grpcOnly = m.grpc;
    this.queryChecks = m.queryParameters.map((q) => ({
      name: wireText(q.name),
      matcher: q.stringMatch ? new CompiledStringMatcher(q.stringMatch, engine) : undefined,
      present: q.presentMatch,
    }));

    const action = route.route;
    this.timeout = action?.timeout ?? 0;
    this.maxStreamDuration = action?.maxStreamDuration;
    this.retryPolicy = action?.retryPolicy ?? vh.retryPolicy;
    this.includeAttemptCount = vh.includeRequestAttemptCount;
    this.cors = compileCorsPolicy(route, vh, engine);
    this.hostRewrite = optionalWireText(action?.hostRewriteLiteral);
    this.prefixRewrite = optionalWireText(action?.prefixRewrite);
    this.rewritesPath = action?.prefixRewrite !== undefined || action?.regexRewrite !== undefined;
    this.clusterNames = [];
    this.cumulativeWeights = [];
    if (action?.cluster !== undefined) this.clusterNames.push(action.cluster);
    else if (action?.weightedClusters) {
      let total = 0;
      for (const c of action.weightedClusters.clusters) {
        total += c.weight;
        this.clusterNames.push(c.name);
        this.cumulativeWeights.push(total);
      }
    }
    this.regexRewrite = action?.regexRewrite
      ? { re: new (re2())(action.regexRewrite.pattern.regex, 'gu'), replacement: envoySubstitution(wireText(action.regexRewrite.substitution)) }
      : undefined;
    const rd = route.redirect;
    this.redirect = rd && { host: optionalWireText(rd.hostRedirect), path: optionalWireText(rd.pathRedirect), prefix: optionalWireText(rd.prefixRewrite) };
    this.requestHeaders = new HeaderMutation([
      { add: route.requestHeadersToAdd, remove: route.requestHeadersToRemove },
      { add: vh.requestHeadersToAdd, remove: vh.requestHeadersToRemove },
      { add: rc.requestHeadersToAdd, remove: rc.requestHeadersToRemove },
    ]);
    this.responseHeaders = new HeaderMutation([
      { add: route.responseHeadersToAdd, remove: route.responseHeadersToRemove },
      { add: vh.responseHeadersToAdd, remove: vh.responseHeadersToRemove },
      { add: rc.responseHeadersToAdd, remove: rc.responseHeadersToRemove },
    ]);
  }

  /** The path regex this route contributes to its virtual host's set, if any. */
  get pathRegex(): string | undefined {
    return this.pathKind === PathKind.Regex ? this.pathOperand : undefined;
  }

  /** Does the request match? `regexHits` holds a scan's result when the engine prefers scanning. */
  matches(view: RequestView, regexHits: Uint8Array | undefined): boolean {
    switch (this.pathKind) {
      case PathKind.Any:
        break;
      case PathKind.Exact:
        if ((this.caseSensitive ? view.path : view.pathLower()) !== this.pathOperand) return false;
        break;
      case PathKind.Prefix:
        if (!(this.caseSensitive ? view.path : view.pathLower()).startsWith(this.pathOperand)) return false;
        break;
      case PathKind.SeparatedPrefix: {
        const p = this.caseSensitive ? view.path : view.pathLower();
        const n = this.pathOperand.length;
        if (!p.startsWith(this.pathOperand) || (p.length > n && p.charCodeAt(n) !== 47 /* / */)) return false;
        break;
      }
      case PathKind.Regex: {
        const slot = this.regexSlot!;
        if (regexHits ? regexHits[slot.id] !== 1 : !slot.set.test(slot.id, view.path)) return false;
        break;
      }
    }
    if (this.headerChecks.length > 0 && !headersMatch(this.headerChecks, view)) return false;
    if (this.grpcOnly) {
      const type = view.header('content-type');
      if (type === undefined || !isGrpcContentType(type)) return false;
    }
    for (const q of this.queryChecks) {
      const value = view.queryParam(q.name);
      if (q.present !== undefined) {
        if ((value !== undefined) !== q.present) return false;
      } else if (q.matcher) {
        if (value === undefined || !q.matcher.matches(value)) return false;
      } else if (value === undefined) return false;
    }
    return true;
  }

  pickCluster(random: number): string {
    const w = this.cumulativeWeights;
    if (w.length === 0) return this.clusterNames[0]!;
    const target = random * w[w.length - 1]!;
    for (let i = 0; i < w.length; i++) if (target < w[i]!) return this.clusterNames[i]!;
    return this.clusterNames[w.length - 1]!;
  }

  rewritePath(target: string): string {
    const prefix = this.prefixRewrite;
    if (prefix !== undefined) return this.replacePrefix(target, prefix);
    if (this.regexRewrite) {
      const q = queryStart(target);
      const path = q < 0 ? target : target.slice(0, q);
      const rewritten = path.replace(this.regexRewrite.re, this.regexRewrite.replacement);
      return q < 0 ? rewritten : rewritten + target.slice(q);
    }
    return target;
  }

  redirectLocation(req: RequestHead): string {
    const rd = this.route.redirect!;
    const wire = this.redirect!;
    const scheme = rd.httpsRedirect ? 'https' : (rd.schemeRedirect ?? req.scheme);
    let host = wire.host ?? req.authority;
    if (rd.portRedirect !== undefined) host = `${stripPort(host)}:${rd.portRedirect}`;
    else if (scheme !== req.scheme) host = stripPort(host);
    let target = req.path;
    if (wire.path !== undefined) {
      const q = queryStart(target);
      target = wire.path.includes('?') || q < 0 ? wire.path : wire.path + target.slice(q);
    } else if (wire.prefix !== undefined) target = this.replacePrefix(target, wire.prefix);
    if (rd.stripQuery) {
      const q = queryStart(target);
      if (q >= 0) target = target.slice(0, q);
    }
    return `${scheme}://${host}${target}`;
  }

  applyRequestHeaders(headers: string[], source: HeaderValueSource): void {
    if (!this.requestHeaders.empty) this.requestHeaders.apply(headers, source);
  }

  applyResponseHeaders(headers: string[], source: HeaderValueSource): void {
    if (!this.responseHeaders.empty) this.responseHeaders.apply(headers, source);
  }

  private replacePrefix(target: string, replacement: string): string {
    // The matched prefix (prefix or path-separated prefix) is replaced; other path kinds replace nothing.
    const n = this.pathKind === PathKind.Prefix || this.pathKind === PathKind.SeparatedPrefix ? this.pathOperand.length : 0;
    return replacement + target.slice(n);
  }
}

function optionalWireText(text: string | undefined): string | undefined {
  return text === undefined ? undefined : wireText(text);
}

/** Envoy writes capture groups as \1; JavaScript replacement strings use $1 and need "$" escaped. */
function envoySubstitution(s: string): string {
  return s.replaceAll('$', '$$$$').replace(/\\(\d)/g, '$$$1');
}

function queryStart(target: string): number {
  return target.indexOf('?');
}

/** Removes ":port" from a host, IPv6 literals included. */
export function stripPort(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon < 0 || host.indexOf(':') !== colon ? host : host.slice(0, colon);
}
