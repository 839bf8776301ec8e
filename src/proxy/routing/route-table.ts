import type { RouteConfiguration, VirtualHost } from '../../model/route.js';
import type { RequestHead } from '../http/request-head.js';
import { CompiledRoute, stripPort, type RouteMatchResult } from './compiled-route.js';
import type { RegexEngine, RegexSet } from './regex-engine.js';
import { RequestView } from './request-view.js';
import { CompiledFault } from '../filters/compiled-fault.js';
import { routeFault, type FaultFilterSetting } from './route-fault.js';

export type { RouteMatchResult } from './compiled-route.js';

/** A compiled RouteConfiguration: picks the virtual host, then the first matching route. */
export interface RouteTable {
  readonly name: string;
  /** Removed from requests that are not internal, before they are matched (Envoy's internalOnlyHeaders). */
  readonly internalOnlyHeaders: readonly string[];
  /** The fault filter's own policy, for a request no route matches; undefined when it injects nothing. */
  readonly fault: CompiledFault | undefined;
  match(req: RequestHead): RouteMatchResult | undefined;
}

class CompiledVirtualHost {
  readonly routes: CompiledRoute[];
  /** Every path regex of this host in one set, so a scanning engine reads the path once. */
  private readonly pathRegexes: RegexSet | undefined;
  private readonly hits: Uint8Array | undefined;

  constructor(
    readonly model: VirtualHost,
    rc: RouteConfiguration,
    engine: RegexEngine,
    faultFilter: FaultFilterSetting | undefined,
    filterFault: CompiledFault | undefined,
  ) {
    this.routes = model.routes.map((r, i) => new CompiledRoute(r, i, model, rc, engine, routeFault(faultFilter, filterFault, r, model, rc, engine)));
    const withRegex = this.routes.filter((r) => r.pathRegex !== undefined);
    if (withRegex.length > 0) {
      const set = engine.compile(withRegex.map((r) => r.pathRegex!));
      withRegex.forEach((r, id) => (r.regexSlot = { set, id }));
      this.pathRegexes = set;
      this.hits = set.prefersScan ? new Uint8Array(set.size) : undefined;
    }
  }

  match(view: RequestView): CompiledRoute | undefined {
    let hits: Uint8Array | undefined;
    if (this.hits) {
      this.pathRegexes!.scan(view.path, this.hits);
      hits = this.hits;
    }
    for (const r of this.routes) if (r.matches(view, hits)) return r;
    return undefined;
  }
}

/** Bounded so hostile Host headers cannot grow memory. */
const HOST_CACHE_LIMIT = 4096;

class CompiledRouteTable implements RouteTable {
  readonly name: string;
  readonly internalOnlyHeaders: readonly string[];
  readonly fault: CompiledFault | undefined;
  private readonly exact = new Map<string, CompiledVirtualHost>();
  /** "*.example.com" as [".example.com", vh], longest suffix first, as Envoy orders them. */
  private readonly suffixes: Array<[string, CompiledVirtualHost]> = [];
  /** "example.*" as ["example.", vh], longest prefix first. */
  private readonly prefixes: Array<[string, CompiledVirtualHost]> = [];
  private readonly fallback: CompiledVirtualHost | undefined;
  private readonly hostCache = new Map<string, CompiledVirtualHost | null>();
  private readonly view = new RequestView();
  /** The previous lookup, checked before the cache. */
  private lastAuthority: string | undefined;
  private lastHost: CompiledVirtualHost | undefined;

  constructor(rc: RouteConfiguration, engine: RegexEngine, faultFilter: FaultFilterSetting | undefined) {
    this.name = rc.name;
    this.internalOnlyHeaders = rc.internalOnlyHeaders;
    // Compiled once and shared by the routes that run the filter's own policy.
    this.fault = faultFilter && CompiledFault.of(faultFilter.fault, engine);
    let fallback: CompiledVirtualHost | undefined;
    for (const model of rc.virtualHosts) {
      const vh = new CompiledVirtualHost(model, rc, engine, faultFilter, this.fault);
      for (const raw of model.domains) {
        const d = raw.toLowerCase();
        if (d === '*') fallback ??= vh;
        else if (d.startsWith('*')) this.suffixes.push([d.slice(1), vh]);
        else if (d.endsWith('*')) this.prefixes.push([d.slice(0, -1), vh]);
        else if (!this.exact.has(d)) this.exact.set(d, vh);
      }
    }
    this.suffixes.sort((a, b) => b[0].length - a[0].length);
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
    this.fallback = fallback;
  }

  match(req: RequestHead): RouteMatchResult | undefined {
    const vh = this.virtualHost(req.authority);
    if (!vh) return undefined;
    this.view.reset(req);
    return vh.match(this.view);
  }

  private virtualHost(authority: string): CompiledVirtualHost | undefined {
    // Keep-alive connections hand in the same authority string request after request.
    if (authority === this.lastAuthority) return this.lastHost;
    let vh: CompiledVirtualHost | null | undefined = this.hostCache.get(authority);
    if (vh === undefined) {
      vh = this.lookup(authority.toLowerCase()) ?? null;
      if (this.hostCache.size >= HOST_CACHE_LIMIT) this.hostCache.clear();
      this.hostCache.set(authority, vh);
    }
    this.lastAuthority = authority;
    this.lastHost = vh ?? undefined;
    return this.lastHost;
  }

  /** Envoy's order: exact, then suffix wildcards, then prefix wildcards, then "*"; with the port, then without. */
  private lookup(authority: string): CompiledVirtualHost | undefined {
    const bare = stripPort(authority);
    const candidates = bare === authority ? [authority] : [authority, bare];
    for (const host of candidates) {
      const vh = this.exact.get(host);
      if (vh) return vh;
    }
    for (const host of candidates) {
      for (const [suffix, vh] of this.suffixes) if (host.length > suffix.length && host.endsWith(suffix)) return vh;
    }
    for (const host of candidates) {
      for (const [prefix, vh] of this.prefixes) if (host.length > prefix.length && host.startsWith(prefix)) return vh;
    }
    return this.fallback;
  }
}

/** Compiles a RouteConfiguration once per config version, for connection managers running `faultFilter` (or none). */
export function compileRouteTable(rc: RouteConfiguration, engine: RegexEngine, faultFilter?: FaultFilterSetting): RouteTable {
  return new CompiledRouteTable(rc, engine, faultFilter);
}
