import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Listener } from '../../model/listener.js';
import type { ListenerTlsFailure } from '../../telemetry/proxy-metrics.js';
import { H1DownstreamConnection } from '../http/h1-downstream-connection.js';
import { keyCustodyHealth } from '../tls/key-custody-health.js';
import { markPeerVerified } from '../tls/peer-verification.js';
import { requestsClientCert } from '../tls/client-certificate-request.js';
import { closeRefusedPeer } from '../tls/refused-peer.js';
import { uriSans, sanMatches } from '../tls/san-match.js';
import { needsClientHello, selectChain, type ConnectionFacts } from './chain-selection.js';
import { ChainTlsServer, type ChainTlsSettings } from './chain-tls-server.js';
import { ClientHelloReader, MAX_CLIENT_HELLO_BYTES, type ClientHelloResult } from './client-hello.js';
import type { FilterChainRuntime } from './filter-chain-runtime.js';
import type { TcpProxySession } from './tcp-proxy.js';

/** The HTTP/2 connection preface (RFC 9113 §3.4); h2c with prior knowledge starts with it. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const TLS_HANDSHAKE = 0x16;

/** Per-listener counters the metrics layer reads. */
export interface ListenerStats {
  connectionsAccepted: number;
  connectionsActive: number;
  tlsHandshakeFailures: number;
  peerVerificationFailures: number;
  noFilterChainMatch: number;
}

/** Zeroed listener counters. */
export function newListenerStats(): ListenerStats {
  return { connectionsAccepted: 0, connectionsActive: 0, tlsHandshakeFailures: 0, peerVerificationFailures: 0, noFilterChainMatch: 0 };
}

/** Told of every TLS connection the listener refuses, for metrics. */
export type TlsFailureObserver = (listener: string, reason: ListenerTlsFailure) => void;

export interface TcpProxyStarter {
  start(chain: FilterChainRuntime, socket: Socket, peerPrincipal: string, serverName?: string): TcpProxySession;
}

type Drainable = { drain(): void };

/**
 * One listener's connection handling: picks the filter chain (TLS or plaintext, SNI), the
 * protocol (HTTP/1.1, HTTP/2 by ALPN or prior knowledge, or TCP), and tracks live connections for drain.
 */
export class ListenerRuntime {
  private readonly live = new Set<Drainable>();
  /** The TLS servers of each TLS chain: a handshake runs in the context of the chain chosen for it. */
  private readonly tlsServers = new Map<FilterChainRuntime, ChainTlsServer>();
  private readonly tlsChains: FilterChainRuntime[];
  /**
   * The ClientHello picks the TLS chain (several chains, or one that serves only some names); else the
   * listener's one TLS chain takes every TLS connection.
   */
  private readonly picksTlsChainByHello: boolean;
  /** TLS connections are handed over only once their ClientHello is read: it picks the chain or the chain's ALPN server. */
  private readonly tlsNeedsClientHello: boolean;
  private draining = false;

  constructor(
    readonly model: Listener,
    readonly chains: FilterChainRuntime[],
    private readonly tcpProxy: TcpProxyStarter,
    private readonly log: (msg: string, fields: Record<string, unknown>) => void,
    private readonly onTlsFailure: TlsFailureObserver = () => {},
    /** The listener's counters: a runtime that replaces another of the same listener counts on in them. */
    readonly stats: ListenerStats = newListenerStats(),
  ) {
    this.tlsChains = chains.filter((c) => c.isTls);
    const settings = this.tlsSettings();
    for (const c of this.tlsChains) this.tlsServers.set(c, new ChainTlsServer(c, settings));
    this.readsClientHello = needsClientHello(chains);
    this.picksTlsChainByHello = this.tlsChains.length > 1 || this.tlsChains.some((c) => c.matchesServerName(undefined) !== 'any');
    this.tlsNeedsClientHello = this.picksTlsChainByHello || [...this.tlsServers.values()].some((s) => s.offersAlpn);
  }

  /** Some chain is chosen by server name or protocol without terminating TLS (Envoy's tls_inspector). */
  private readonly readsClientHello: boolean;

  /** Takes a freshly accepted socket. */
  handleSocket(socket: Socket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.stats.connectionsAccepted++;
    this.stats.connectionsActive++;
    socket.once('close', () => this.stats.connectionsActive--);
    socket.on('error', () => socket.destroy());
    if (!this.readsClientHello) {
      const hasTls = this.tlsChains.length > 0;
      const hasPlain = this.chains.some((c) => !c.isTls);
      if (hasTls && !hasPlain && !this.tlsNeedsClientHello) {
        this.tlsServers.get(this.tlsChains[0]!)!.accept(socket, []);
        return;
      }
      const plain = this.chains.find((c) => !c.isTls)!;
      if (!hasTls && plain.tcp) {
        this.startTcp(plain, socket, '');
        return;
      }
    }
    // Mixed TLS and plaintext (PERMISSIVE), HTTP codec AUTO, or chains chosen by what a
    // ClientHello offers: look at the first bytes.
    this.sniff(socket);
  }

  /**
   * Reads what the chain choice needs (the first bytes, or a whole ClientHello when a chain is chosen
   * by server name or protocol), picks the chain, and hands the socket over with nothing consumed.
   */
  private sniff(socket: Socket): void {
    // A deadline from accept, as Envoy's listener_filters_timeout, not an idle timer: a client that
    // sends its hello a few bytes at a time cannot hold the connection open for longer.
    const sniffTimeout = this.model.listenerFiltersTimeout;
    const deadline = sniffTimeout > 0 ? setTimeout(destroyUninspected, sniffTimeout, socket).unref() : undefined;
    if (deadline !== undefined) socket.once('close', () => clearTimeout(deadline));
    const reader = this.readsClientHello || this.tlsNeedsClientHello ? new ClientHelloReader() : undefined;
    let seen: Buffer | undefined;
    const onData = (chunk: Buffer): void => {
      const hello = reader?.push(chunk);
      seen = reader !== undefined ? reader.received : seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      if (tooShortToTellPreface(seen) || hello === 'incomplete') return;
      socket.removeListener('data', onData);
      clearTimeout(deadline);
      // Whoever takes the socket next (TLS, nghttp2, the HTTP/1.1 codec, a TCP pipe) resumes reading its own way.
      socket.pause();
      if (hello === 'too-large') {
        this.refuseOversizedHello(socket);
        return;
      }
      const chain = this.readsClientHello ? this.chainByHello(hello!, seen, socket) : this.chainByFirstByte(seen, hello, socket);
      if (chain === undefined) return;
      if (chain.isTls) {
        socket.unshift(seen);
        this.tlsServers.get(chain)!.accept(socket, typeof hello === 'object' ? hello.alpn : []);
      } else if (chain.tcp) {
        socket.unshift(seen);
        // TLS passed through: the SNI read from the ClientHello is the connection's requested server name.
        this.startTcp(chain, socket, '', typeof hello === 'object' ? hello.serverName : undefined);
      } else this.startHttp(chain, socket, seen, '');
    };
    socket.on('data', onData);
  }

  /**
   * TLS or plaintext by the first byte; among TLS chains, the one the ClientHello names. A listener with
   * TLS chains only gives anything to TLS, whose handshake fails (and is logged) as before.
   */
  private chainByFirstByte(first: Buffer, hello: ClientHelloResult | undefined, socket: Socket): FilterChainRuntime | undefined {
    const plain = this.chains.find((c) => !c.isTls);
    if (this.tlsChains.length > 0 && (first[0] === TLS_HANDSHAKE || plain === undefined)) return this.tlsChainByHello(hello, socket);
    return plain!;
  }

  /** Envoy's match among the TLS chains (server name, then protocols), or the listener's only TLS chain; refuses when none matches. */
  private tlsChainByHello(hello: ClientHelloResult | undefined, socket: Socket): FilterChainRuntime | undefined {
    if (!this.picksTlsChainByHello) return this.tlsChains[0];
    const facts: ConnectionFacts = typeof hello === 'object' ? { tls: true, serverName: hello.serverName, alpn: hello.alpn } : { tls: true, serverName: undefined, alpn: [] };
    return selectChain(this.tlsChains, facts) ?? this.refuseUnmatched(facts, socket);
  }

  /** Envoy's filter chain match on what the ClientHello (or the plaintext start) offers; refuses when nothing matches. */
  private chainByHello(hello: ClientHelloResult, seen: Buffer, socket: Socket): FilterChainRuntime | undefined {
    const facts: ConnectionFacts =
      typeof hello === 'object'
        ? { tls: true, serverName: hello.serverName, alpn: hello.alpn }
        : { tls: hello !== 'not-tls', serverName: undefined, alpn: hello === 'not-tls' ? plaintextProtocols(seen) : [] };
    return selectChain(this.chains, facts) ?? this.refuseUnmatched(facts, socket);
  }

  /**
   * Closes a connection whose ClientHello does not fit in the bytes a listener reads before choosing
   * (Envoy's tls_inspector: client_hello_too_large): no chain can be chosen for it, and none gets it.
   */
  private refuseOversizedHello(socket: Socket): void {
    this.stats.tlsHandshakeFailures++;
    this.onTlsFailure(this.model.name, 'handshake');
    this.log('tls handshake refused: ClientHello too large', { listener: this.model.name, remote: socket.remoteAddress, maxBytes: MAX_CLIENT_HELLO_BYTES });
    socket.destroy();
  }

  /** Closes a connection no filter chain serves (Envoy: no filter chain match), before any handshake. */
  private refuseUnmatched(facts: ConnectionFacts, socket: Socket): undefined {
    this.stats.noFilterChainMatch++;
    if (facts.tls) this.onTlsFailure(this.model.name, 'no_filter_chain_match');
    this.log('connection refused: no filter chain matches', { listener: this.model.name, remote: socket.remoteAddress, serverName: facts.serverName ?? '', tls: facts.tls });
    socket.destroy();
    return undefined;
  }

  private startHttp(chain: FilterChainRuntime, socket: Socket, first: Buffer | undefined, principal: string): void {
    const codec = chain.http!.hcm.codecType;
    const isH2 =
      codec === 'HTTP2' ||
      (codec === 'AUTO' && (socket instanceof tls.TLSSocket ? socket.alpnProtocol === 'h2' : first !== undefined && startsLikePreface(first)));
    if (isH2) {
      chain.h2!.accept(socket, first);
      return;
    }
    const stats = chain.http!.stats;
    stats.downstreamConnections++;
    stats.downstreamConnectionsActive++;
    socket.once('close', () => stats.downstreamConnectionsActive--);
    socket.resume();
    const conn = new H1DownstreamConnection(socket, chain.getContext, this, socket instanceof tls.TLSSocket ? 'https' : 'http', principal, first);
    this.live.add(conn);
    if (this.draining) conn.drain();
  }

  private startTcp(chain: FilterChainRuntime, socket: Socket, principal: string, serverName?: string): void {
    const session = this.tcpProxy.start(chain, socket, principal, serverName);
    this.live.add(session);
    socket.once('close', () => this.live.delete(session));
  }

  onConnectionClosed(conn: Drainable): void {
    this.live.delete(conn);
  }

  /** What every TLS chain's servers share; outcomes come back to this listener. */
  private tlsSettings(): ChainTlsSettings {
    // A chain that can verify client certificates asks for one; it insists only with requireClientCertificate.
    const custody = this.tlsChains.some((c) => c.model.transportSocket!.commonTlsContext.tlsCertificates.every((t) => !t.privateKey));
    return {
      onSecure: (chain, s) => {
        if (custody && keyCustodyHealth.noteSuccess()) this.log('key custody restored: handshakes sign through keyd again', { listener: this.model.name });
        this.onSecureConnection(chain, s);
      },
      onHandshakeError: (chain, err, s) => {
        this.stats.tlsHandshakeFailures++;
        this.onTlsFailure(this.model.name, 'handshake');
        const fields = { listener: this.model.name, chain: chain.model.name, remote: s.remoteAddress, error: err.message };
        if (keyCustodyHealth.noteFailure(err)) this.log('tls handshake refused: key custody (keyd) unavailable, failing closed', { ...fields, consecutiveFailures: keyCustodyHealth.consecutiveFailures });
        else this.log('tls handshake failed', fields);
        s.destroy();
      },
    };
  }

  /**
   * A reload that kept this listener (same shape) brings new contexts: a rotated certificate or a changed
   * trust bundle must reach new handshakes, while live connections keep the context they were made with.
   * The new contexts seal and open sessions with new keys (see chain-session-scope.ts): a session checked
   * against the old trust bundle does not resume.
   */
  adoptTls(next: readonly FilterChainRuntime[]): void {
    this.chains.forEach((c, i) => {
      c.secureContext = next[i]!.secureContext;
      c.subjectAltNameMatchers = next[i]!.subjectAltNameMatchers;
    });
    for (const server of this.tlsServers.values()) server.useCurrentContext();
  }

  /** The handshake ran in `chain`'s context (a resumed session too: it was made on this chain). */
  private onSecureConnection(chain: FilterChainRuntime, socket: tls.TLSSocket): void {
    const ts = chain.model.transportSocket!;
    let principal = '';
    // requireClientCertificate insists on a certificate; a validation context alone (Envoy: optional
    // client certificates) lets a client without one in, but one that is presented must verify.
    if (requestsClientCert(ts)) {
      const peer = socket.getPeerCertificate();
      const presented = peer !== null && peer !== undefined && peer.raw !== undefined;
      if (presented || ts.requireClientCertificate) {
        if (!presented || !socket.authorized || !sanMatches(peer, chain.subjectAltNameMatchers)) {
          this.stats.peerVerificationFailures++;
          this.onTlsFailure(this.model.name, 'peer_verification');
          this.log('peer certificate refused', {
            listener: this.model.name,
            remote: socket.remoteAddress,
            reason: socket.authorized ? 'subject alternative names do not match' : String(socket.authorizationError ?? 'no certificate'),
            peer: presented ? uriSans(peer).join(',') : '',
          });
          closeRefusedPeer(socket);
          return;
        }
        principal = uriSans(peer)[0] ?? '';
        markPeerVerified(socket);
      }
    }
    if (chain.tcp) this.startTcp(chain, socket, principal);
    else this.startHttp(chain, socket, undefined, principal);
  }

  /** Stops taking connections and asks live ones to finish (Connection: close, GOAWAY). */
  drain(): void {
    this.draining = true;
    for (const c of this.live) c.drain();
    for (const chain of this.chains) chain.drainH2();
  }

  /** Ends the drain's first step early: the final GOAWAY to every HTTP/2 session. */
  finishDrain(): void {
    for (const chain of this.chains) chain.finishDrainH2();
  }

  get liveConnections(): number {
    return this.live.size + this.chains.reduce((n, c) => n + c.h2Sessions, 0);
  }
}

/** A connection did not send what picks its filter chain within the listener filters timeout. */
function destroyUninspected(socket: Socket): void {
  socket.destroy();
}

/**
 * The protocol of a plaintext connection as Envoy's http_inspector names it for filter chain
 * matching (Istio's inbound chains match on it): 'h2c' for the HTTP/2 preface, 'http/1.0' or
 * 'http/1.1' for a request line; none for anything else.
 */
function plaintextProtocols(first: Buffer): string[] {
  if (startsLikePreface(first)) return ['h2c'];
  const end = first.indexOf('\r\n');
  const line = first.toString('latin1', 0, end < 0 ? Math.min(first.length, 8192) : end);
  const m = /^[A-Z]+ [^ ]+ HTTP\/1\.([01])$/.exec(line);
  return m ? [m[1] === '0' ? 'http/1.0' : 'http/1.1'] : [];
}

/**
 * "P" or "PR" may begin the HTTP/2 preface or an HTTP/1.1 method (POST, PROPFIND): the third byte
 * tells them apart, so a connection whose first segment is that short is read on (TCP may split anywhere).
 */
function tooShortToTellPreface(first: Buffer): boolean {
  return first.length < 3 && first.compare(H2_PREFACE, 0, first.length, 0, first.length) === 0;
}

function startsLikePreface(first: Buffer): boolean {
  const n = Math.min(first.length, H2_PREFACE.length);
  return n >= 3 && first.compare(H2_PREFACE, 0, n, 0, n) === 0;
}
