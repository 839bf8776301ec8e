import { useTicketKeysFor } from './tls/session-ticket-keys.js';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { CORS_FILTER } from '../config/cors-policy-reader.js';
import { httpFilterIdentity } from '../config/http-filters.js';
import type { ResourceSnapshot } from '../model/bootstrap.js';
import type { HttpConnectionManager, Listener } from '../model/listener.js';
import type { SubjectAltNameMatcher } from '../model/tls.js';
import { accessLogReads } from './listener-access-log-reads.js';
import { ClusterManager } from './clusters/cluster-manager.js';
import { newHttpListenerStats, type HttpListenerContext, type HttpListenerStats } from './http/http-listener-context.js';
import type { HttpStream } from './http/http-stream.js';
import { countStreamOutcome } from './stream-outcome-stats.js';
import { FilterChainRuntime } from './listeners/filter-chain-runtime.js';
import { ListenerRuntime, newListenerStats, type ListenerStats, type TcpProxyStarter, type TlsFailureObserver } from './listeners/listener-runtime.js';
import { drainClose, NO_LISTENER_DRAIN, type ListenerDrainState } from './listeners/listener-drain-state.js';
import { TcpProxySession, type TcpTelemetry } from './listeners/tcp-proxy.js';
import { createRegexEngine } from './routing/regex-engine-registry.js';
import type { RegexEngine } from './routing/regex-engine.js';
import { compileRouteTable, type RouteTable } from './routing/route-table.js';
import { faultFilterOf, routeTableKey } from './routing/route-fault.js';
import { chainSessionOptions } from './tls/chain-session-scope.js';
import { contextCertificates, createSecureContext, subjectAltNameMatchers, trustedCa, type KeyPolicy } from './tls/secure-context-factory.js';
import type { ProxyLogger } from './proxy-log.js';
import { readDataSource } from './tls/tls-material.js';
import { hasVerifiedPeer } from './tls/peer-verification.js';
import { uriSans } from './tls/san-match.js';

/** Where finished streams and connections are reported (metrics, access log, tracing). */
export interface ProxyTelemetry extends TcpTelemetry {
  onHttpStream(stream: HttpStream, ctx: HttpListenerContext): void;
  newRequestId(): string;
  propagateTrace(headers: string[], sampleNewTrace: boolean): string | undefined;
}

/** One worker's live proxy: listeners, route tables, clusters, swapped as a whole per accepted snapshot. */
export class ProxyRuntime implements TcpProxyStarter {
  readonly clusters: ClusterManager;
  readonly regexEngine: RegexEngine;
  private listeners = new Map<string, ListenerRuntime>();
  private routeTables = new Map<string, RouteTable>();
  private snapshot: ResourceSnapshot | undefined;
  /** Stats per HTTP connection manager (by listener and chain), kept across reloads so counters only grow. */
  private readonly httpStats = new Map<string, HttpListenerStats>();
  /**
   * Stats per listener name, kept across reloads: a runtime that replaces a listener's counts on, and
   * the connections its predecessor still drains stay counted, as Envoy's listener stats do.
   */
  private readonly listenerStats = new Map<string, ListenerStats>();
  /** What the admin API asked of the listeners (/healthcheck/fail, /drain_listeners); read per request. */
  private drainState: ListenerDrainState = NO_LISTENER_DRAIN;

  constructor(
    regexEngineName: string,
    private readonly keyPolicy: KeyPolicy,
    private readonly telemetry: ProxyTelemetry,
    /** The connection logger: listener warnings, and each accepted connection at debug. */
    private readonly log: ProxyLogger,
    private readonly onTlsFailure?: TlsFailureObserver,
  ) {
    this.regexEngine = createRegexEngine(regexEngineName);
    this.clusters = new ClusterManager(keyPolicy);
  }

  get version(): string {
    return this.snapshot?.version ?? '';
  }

  get current(): ResourceSnapshot | undefined {
    return this.snapshot;
  }

  /**
   * Applies a validated snapshot. Everything that can fail (TLS material, regex compilation) is built
   * before anything is swapped, so a failure leaves the last good config serving.
   */
  apply(snapshot: ResourceSnapshot): void {
    // The contexts made below seal session tickets with this config's keys (see session-ticket-keys.ts).
    useTicketKeysFor(snapshot.version);
    const tables = new Map<string, RouteTable>();
    for (const rc of snapshot.routeConfigurations) tables.set(rc.name, compileRouteTable(rc, this.regexEngine));
    const built = new Map<string, { model: Listener; chains: FilterChainRuntime[]; inline: Array<RouteTable | undefined> }>();
    for (const l of snapshot.listeners) {
      const chains: FilterChainRuntime[] = [];
      const inline: Array<RouteTable | undefined> = [];
      for (const [index, chain] of l.filterChains.entries()) {
        let ctx: tls.SecureContext | undefined;
        let sans: readonly SubjectAltNameMatcher[] = [];
        if (chain.transportSocket) {
          const common = chain.transportSocket.commonTlsContext;
          const certs = contextCertificates(common, snapshot.secrets);
          const where = `listener "${l.name}" chain "${chain.name}"`;
          sans = subjectAltNameMatchers(common, snapshot.secrets);
          // Sessions resume only on the chain that made them, under the same certificate and client checks.
          const session = chainSessionOptions({
            where,
            index,
            certificateChainPem: certs[0] ? readDataSource(certs[0].certificateChain, `${where} certificateChain`) : '',
            trustedCaPem: trustedCa(common, snapshot.secrets, where),
            requireClientCertificate: chain.transportSocket.requireClientCertificate,
            subjectAltNameMatchers: sans,
          });
          // Envoy's session_timeout: how long a session (its ticket) may be resumed; OpenSSL counts in seconds.
          const timeout = chain.transportSocket.sessionTimeout;
          ctx = createSecureContext(common, certs[0], snapshot.secrets, this.keyPolicy, where, { ...session, ...(timeout !== undefined ? { sessionTimeout: Math.ceil(timeout / 1000) } : {}) });
        }
        chains.push(new FilterChainRuntime(chain, ctx, peerPrincipalOf, sans));
        const f = chain.filters[0]!;
        if (f.name !== 'envoy.filters.network.http_connection_manager') {
          inline.push(undefined);
          continue;
        }
        // Faults are compiled onto routes: a table serves the connection managers with one fault filter.
        const filter = faultFilterOf(f.typedConfig);
        inline.push(f.typedConfig.routeConfig ? compileRouteTable(f.typedConfig.routeConfig, this.regexEngine, filter) : undefined);
        const rdsName = f.typedConfig.rds?.routeConfigName;
        const rds = snapshot.routeConfigurations.find((rc) => rc.name === rdsName);
        if (rds !== undefined && !tables.has(routeTableKey(rds.name, filter))) tables.set(routeTableKey(rds.name, filter), compileRouteTable(rds, this.regexEngine, filter));
      }
      built.set(l.name, { model: l, chains, inline });
    }
    this.clusters.apply(snapshot.clusters, snapshot.secrets);
    this.routeTables = tables;

    const next = new Map<string, ListenerRuntime>();
    for (const [name, b] of built) {
      const old = this.listeners.get(name);
      // Same shape: swap contexts in place so live keep-alive connections pick up the new routes.
      const runtime = old && sameShape(old.model, b.model) ? old : new ListenerRuntime(b.model, b.chains, this, (m, f) => this.log('warn', m, f), this.onTlsFailure, this.statsOfListener(name));
      const chains = runtime === old ? old.chains : b.chains;
      // The contexts made below read the listener's model from its runtime.
      if (runtime === old) (old as { model: Listener }).model = b.model;
      b.model.filterChains.forEach((chainModel, i) => {
        const f = chainModel.filters[0]!;
        if (f.name === 'envoy.filters.network.http_connection_manager') {
          chains[i]!.setHttpContext(this.httpContext(runtime, i, f.typedConfig, b.inline[i]));
        } else chains[i]!.tcp = f.typedConfig;
      });
      if (runtime === old) old.adoptTls(b.chains);
      next.set(name, runtime);
    }
    for (const [name, old] of this.listeners) {
      if (next.get(name) !== old) old.drain();
    }
    this.listeners = next;
    this.snapshot = snapshot;
  }

  private httpContext(listenerRuntime: ListenerRuntime, chainIndex: number, hcm: HttpConnectionManager, inline: RouteTable | undefined): HttpListenerContext {
    const listener = listenerRuntime.model;
    const listenerName = listener.name;
    const statsKey = `${listenerName}/${chainIndex}`;
    let stats = this.httpStats.get(statsKey);
    if (!stats) {
      stats = newHttpListenerStats(hcm.statPrefix);
      this.httpStats.set(statsKey, stats);
    }
    stats.statPrefix = hcm.statPrefix;
    const rdsKey = hcm.rds && routeTableKey(hcm.rds.routeConfigName, faultFilterOf(hcm));
    const runtime = this;
    const telemetry = this.telemetry;
    const ctx: HttpListenerContext = {
      listenerName,
      inbound: listener.trafficDirection === 'INBOUND' || (listener.trafficDirection === 'UNSPECIFIED' && hcm.statPrefix.startsWith('inbound')),
      hcm,
      accessLogReads: accessLogReads(hcm.accessLog),
      runsCorsFilter: hcm.httpFilters.some((f) => httpFilterIdentity(f.name, f.typedConfig) === CORS_FILTER),
      bufferLimitBytes: listener.perConnectionBufferLimitBytes,
      clusters: this.clusters,
      stats,
      routeTable: inline ? () => inline : () => runtime.routeTables.get(rdsKey!),
      newRequestId: () => telemetry.newRequestId(),
      propagateTrace: (headers, sampleNewTrace) => telemetry.propagateTrace(headers, sampleNewTrace),
      // The listener's model is read at the time: a reload of the same shape replaces it in place.
      drainClose: () => drainClose(runtime.drainState, listenerRuntime.model),
      onStreamComplete: (stream) => {
        countStreamOutcome(stream, ctx.stats);
        telemetry.onHttpStream(stream, ctx);
      },
    };
    return ctx;
  }

  /** Hands an accepted socket to the named listener. */
  handleSocket(listenerName: string, socket: Socket): void {
    const l = this.listeners.get(listenerName);
    if (!l) {
      socket.destroy();
      return;
    }
    if (this.log.enabled('debug')) this.log('debug', 'new connection', { listener: listenerName, remote: `${socket.remoteAddress}:${socket.remotePort}` });
    l.handleSocket(socket);
  }

  listener(name: string): ListenerRuntime | undefined {
    return this.listeners.get(name);
  }

  allHttpStats(): Map<string, HttpListenerStats> {
    return this.httpStats;
  }

  /** Every listener's stats by name, those of listeners a reload removed too (their counts stand). */
  allListenerStats(): Map<string, ListenerStats> {
    return this.listenerStats;
  }

  private statsOfListener(name: string): ListenerStats {
    let stats = this.listenerStats.get(name);
    if (stats === undefined) {
      stats = newListenerStats();
      this.listenerStats.set(name, stats);
    }
    return stats;
  }

  start(chain: FilterChainRuntime, socket: Socket, peerPrincipal: string, serverName?: string): TcpProxySession {
    const listenerName = [...this.listeners.values()].find((l) => l.chains.includes(chain))?.model.name ?? '';
    return new TcpProxySession(socket, chain.tcp!, listenerName, peerPrincipal, this.clusters, this.telemetry, serverName);
  }

  /** Takes what the admin API asked of the listeners; HTTP connections read it at their next request or response. */
  useDrainState(state: ListenerDrainState): void {
    this.drainState = state;
  }

  /** Graceful drain of every listener's connections. */
  drain(): void {
    for (const l of this.listeners.values()) l.drain();
  }

  /** The drain's last step, before the process leaves: HTTP/2 sessions get their final GOAWAY. */
  finishDrain(): void {
    for (const l of this.listeners.values()) l.finishDrain();
  }

  liveConnections(): number {
    let n = 0;
    for (const l of this.listeners.values()) n += l.liveConnections;
    return n;
  }

  close(): void {
    this.clusters.close();
  }
}

/** Listeners whose address and chain structure are unchanged keep their runtime and connections. */
function sameShape(a: Listener, b: Listener): boolean {
  if (a.address.socketAddress.address !== b.address.socketAddress.address || a.address.socketAddress.portValue !== b.address.socketAddress.portValue) return false;
  if (a.filterChains.length !== b.filterChains.length) return false;
  return a.filterChains.every((c, i) => {
    const d = b.filterChains[i]!;
    return (
      c.filters[0]!.name === d.filters[0]!.name &&
      JSON.stringify(c.transportSocket) === JSON.stringify(d.transportSocket) &&
      JSON.stringify(c.filterChainMatch) === JSON.stringify(d.filterChainMatch)
    );
  });
}

function peerPrincipalOf(socket: Socket): string {
  if (!(socket instanceof tls.TLSSocket) || !hasVerifiedPeer(socket)) return '';
  const peer = socket.getPeerCertificate();
  return peer && peer.raw ? (uriSans(peer)[0] ?? '') : '';
}

