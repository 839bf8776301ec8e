import type { SecureContext } from 'node:tls';
import type { FilterChain, TcpProxy } from '../../model/listener.js';
import type { SubjectAltNameMatcher } from '../../model/tls.js';
import type { HttpListenerContext } from '../http/http-listener-context.js';
import { H2DownstreamServer } from '../http/h2-downstream.js';
import type { Socket } from 'node:net';

/** A filter chain ready to take connections; its HTTP context is replaced in place on config changes. */
export class FilterChainRuntime {
  /** The live context; connections read it per request so route changes apply to keep-alive connections. */
  http: HttpListenerContext | undefined;
  tcp: TcpProxy | undefined;
  /** Takes new HTTP/2 connections; made with the settings of the context current at the time. */
  h2: H2DownstreamServer | undefined;
  /** The settings `h2` was made with (see h2SettingsKey). */
  private h2Settings = '';
  /** Servers replaced by a reload that changed HTTP/2 settings: their sessions run on until they end. */
  private retiredH2: H2DownstreamServer[] = [];
  readonly getContext = (): HttpListenerContext => this.http!;

  constructor(
    readonly model: FilterChain,
    /** Replaced by a reload of the same shape (rotated certificate, changed trust bundle); see ListenerRuntime.adoptTls. */
    public secureContext: SecureContext | undefined,
    peerPrincipalOf: (socket: Socket) => string,
    /** What a client certificate's SANs must match, resolved from the inline or SDS validation context. */
    public subjectAltNameMatchers: readonly SubjectAltNameMatcher[] = [],
  ) {
    const filter = model.filters[0]!;
    if (filter.name === 'envoy.filters.network.tcp_proxy') this.tcp = filter.typedConfig;
    this.isTls = model.transportSocket !== undefined;
    this.peerPrincipalOf = peerPrincipalOf;
  }

  readonly isTls: boolean;
  readonly peerPrincipalOf: (socket: Socket) => string;

  /**
   * Sets the HTTP context. node:http2 fixes a server's SETTINGS and limits when it is made, so a
   * context whose HTTP/2 settings differ gets a new server for new connections; sessions on the old
   * one keep the settings they were opened with, as Envoy's do, and are still drained and counted.
   */
  setHttpContext(ctx: HttpListenerContext): void {
    this.http = ctx;
    const settings = h2SettingsKey(ctx);
    if (this.h2 !== undefined && settings === this.h2Settings) return;
    this.retiredH2 = this.retiredH2.filter((s) => s.sessionCount > 0);
    if (this.h2 !== undefined) this.retiredH2.push(this.h2);
    this.h2 = new H2DownstreamServer(this.getContext, this.isTls ? 'https' : 'http', this.peerPrincipalOf);
    this.h2Settings = settings;
  }

  /** GOAWAY to every HTTP/2 session of this chain, on current and replaced servers. */
  drainH2(): void {
    this.h2?.drain();
    for (const s of this.retiredH2) s.drain();
  }

  /** The final GOAWAY to every HTTP/2 session of this chain, now (see H2DownstreamServer.finishDrain). */
  finishDrainH2(): void {
    this.h2?.finishDrain();
    for (const s of this.retiredH2) s.finishDrain();
  }

  /** Open HTTP/2 sessions of this chain. */
  get h2Sessions(): number {
    let n = this.h2?.sessionCount ?? 0;
    for (const s of this.retiredH2) n += s.sessionCount;
    return n;
  }

  /** True when this chain serves `serverName` (SNI); chains without names serve any. */
  matchesServerName(serverName: string | undefined): 'exact' | 'wildcard' | 'any' | false {
    const names = this.model.filterChainMatch?.serverNames ?? [];
    if (names.length === 0) return 'any';
    if (!serverName) return false;
    const sn = serverName.toLowerCase();
    if (names.includes(sn)) return 'exact';
    for (const n of names) if (n.startsWith('*.') && sn.endsWith(n.slice(1))) return 'wildcard';
    return false;
  }
}

/** What node:http2 takes from a context when a server is made. */
function h2SettingsKey(ctx: HttpListenerContext): string {
  const hcm = ctx.hcm;
  return `${hcm.http2ProtocolOptions.maxConcurrentStreams}/${hcm.maxRequestHeadersKb}/${hcm.commonHttpProtocolOptions.maxHeadersCount}`;
}
