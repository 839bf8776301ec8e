import type { SecureContext } from 'node:tls';
import type { FilterChain, TcpProxy } from '../../model/listener.js';
import type { HttpListenerContext } from '../http/http-listener-context.js';
import { H2DownstreamServer } from '../http/h2-downstream.js';
import type { Socket } from 'node:net';

/** A filter chain ready to take connections; its HTTP context is replaced in place on config changes. */
export class FilterChainRuntime {
  /** The live context; connections read it per request so route changes apply to keep-alive connections. */
  http: HttpListenerContext | undefined;
  tcp: TcpProxy | undefined;
  h2: H2DownstreamServer | undefined;
  readonly getContext = (): HttpListenerContext => this.http!;

  constructor(
    readonly model: FilterChain,
    readonly secureContext: SecureContext | undefined,
    peerPrincipalOf: (socket: Socket) => string,
  ) {
    const filter = model.filters[0]!;
    if (filter.name === 'envoy.filters.network.tcp_proxy') this.tcp = filter.typedConfig;
    this.isTls = model.transportSocket !== undefined;
    this.peerPrincipalOf = peerPrincipalOf;
  }

  readonly isTls: boolean;
  readonly peerPrincipalOf: (socket: Socket) => string;

  /** Sets the HTTP context (first time creates the HTTP/2 server for this chain). */
  setHttpContext(ctx: HttpListenerContext): void {
    this.http = ctx;
    this.h2 ??= new H2DownstreamServer(this.getContext, this.isTls ? 'https' : 'http', this.peerPrincipalOf);
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
