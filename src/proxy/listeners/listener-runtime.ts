import { constants, createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Listener } from '../../model/listener.js';
import type { ListenerTlsFailure } from '../../telemetry/proxy-metrics.js';
import { H1DownstreamConnection } from '../http/h1-downstream-connection.js';
import { keyCustodyHealth } from '../tls/key-custody-health.js';
import { withProxyTlsPolicy } from '../tls/secure-context-factory.js';
import { markPeerVerified } from '../tls/peer-verification.js';
import { closeRefusedPeer } from '../tls/refused-peer.js';
import { uriSans, sanMatches } from '../tls/san-match.js';
import { needsClientHello, selectChain, type ConnectionFacts } from './chain-selection.js';
import { MAX_CLIENT_HELLO_BYTES, readClientHello } from './client-hello.js';
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

/** Given to OpenSSL by the SNI callback when no filter chain serves the name; told apart in tlsClientError. */
class NoFilterChainError extends Error {
  constructor(readonly serverName: string) {
    super(`no filter chain matches server name "${serverName}"`);
  }
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
  readonly stats: ListenerStats = { connectionsAccepted: 0, connectionsActive: 0, tlsHandshakeFailures: 0, peerVerificationFailures: 0, noFilterChainMatch: 0 };
  private readonly live = new Set<Drainable>();
  private tlsServer: tls.Server | undefined;
  /**
   * Takes the clients whose ALPN offer has nothing the listener speaks: they go on without ALPN, as in
   * Envoy. node:tls refuses them with no_application_protocol once an ALPN list or callback is set, so
   * they need a server without either, chosen from the ClientHello. Made when the listener offers ALPN.
   */
  private tlsServerWithoutAlpn: tls.Server | undefined;
  private alpnChooser: AlpnChooser | undefined;
  private draining = false;

  constructor(
    readonly model: Listener,
    readonly chains: FilterChainRuntime[],
    private readonly tcpProxy: TcpProxyStarter,
    private readonly log: (msg: string, fields: Record<string, unknown>) => void,
    private readonly onTlsFailure: TlsFailureObserver = () => {},
  ) {
    const tlsChains = chains.filter((c) => c.isTls);
    if (tlsChains.length > 0) {
      this.alpnChooser = alpnChooser(offeredAlpn(tlsChains));
      this.tlsServer = this.createTlsServer(tlsChains, this.alpnChooser);
      if (this.alpnChooser) this.tlsServerWithoutAlpn = this.createTlsServer(tlsChains, undefined);
    }
    this.readsClientHello = needsClientHello(chains);
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
      const hasTls = this.tlsServer !== undefined;
      const hasPlain = this.chains.some((c) => !c.isTls);
      // With ALPN offered, the ClientHello decides which TLS server takes the socket (see tlsServerWithoutAlpn).
      if (hasTls && !hasPlain && !this.tlsServerWithoutAlpn) {
        this.tlsServer!.emit('connection', socket);
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
    const sniffTimeout = this.model.listenerFiltersTimeout;
    if (sniffTimeout > 0) socket.setTimeout(sniffTimeout, destroySilentSocket);
    let seen: Buffer | undefined;
    const onData = (chunk: Buffer): void => {
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      if (tooShortToTellPreface(seen)) return;
      const hello = this.readsClientHello || this.tlsServerWithoutAlpn ? readClientHello(seen) : undefined;
      if (hello === 'incomplete' && seen.length < MAX_CLIENT_HELLO_BYTES) return;
      socket.removeListener('data', onData);
      if (sniffTimeout > 0) {
        socket.setTimeout(0);
        socket.removeListener('timeout', destroySilentSocket);
      }
      // Whoever takes the socket next (TLS, nghttp2, the HTTP/1.1 codec, a TCP pipe) resumes reading its own way.
      socket.pause();
      const chain = this.readsClientHello ? this.chainByHello(hello!, seen, socket) : this.chainByFirstByte(seen);
      if (chain === undefined) return;
      if (chain.isTls) {
        socket.unshift(seen);
        this.tlsServerFor(hello).emit('connection', socket);
      } else if (chain.tcp) {
        socket.unshift(seen);
        // TLS passed through: the SNI read from the ClientHello is the connection's requested server name.
        this.startTcp(chain, socket, '', typeof hello === 'object' ? hello.serverName : undefined);
      } else this.startHttp(chain, socket, seen, '');
    };
    socket.on('data', onData);
  }

  /**
   * TLS or plaintext by the first byte; among TLS chains the SNI callback chooses during the handshake.
   * A listener with TLS chains only gives anything to TLS, whose handshake fails (and is logged) as before.
   */
  private chainByFirstByte(first: Buffer): FilterChainRuntime {
    const plain = this.chains.find((c) => !c.isTls);
    if (this.tlsServer !== undefined && (first[0] === TLS_HANDSHAKE || plain === undefined)) return this.chains.find((c) => c.isTls)!;
    return plain!;
  }

  /** The TLS server for a client: the one without ALPN when it offers protocols of which the listener speaks none. */
  private tlsServerFor(hello: ReturnType<typeof readClientHello> | undefined): tls.Server {
    const offered = typeof hello === 'object' ? hello.alpn : [];
    if (this.tlsServerWithoutAlpn && offered.length > 0 && this.alpnChooser!({ protocols: offered }) === undefined) return this.tlsServerWithoutAlpn;
    return this.tlsServer!;
  }

  /** Envoy's filter chain match on what the ClientHello (or the plaintext start) offers; refuses when nothing matches. */
  private chainByHello(hello: ReturnType<typeof readClientHello>, seen: Buffer, socket: Socket): FilterChainRuntime | undefined {
    const facts: ConnectionFacts =
      typeof hello === 'object'
        ? { tls: true, serverName: hello.serverName, alpn: hello.alpn }
        : { tls: hello !== 'not-tls', serverName: undefined, alpn: hello === 'not-tls' ? plaintextProtocols(seen) : [] };
    const chain = selectChain(this.chains, facts);
    if (chain) return chain;
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
    chain.http!.stats.downstreamConnections++;
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

  private createTlsServer(chains: FilterChainRuntime[], chooseAlpn: AlpnChooser | undefined): tls.Server {
    // Clients without SNI get the chain that names no server; when every chain names its servers they
    // get no certificate at all (as Envoy: no filter chain match closes the connection).
    const fallback = chains.find((c) => c.matchesServerName(undefined) === 'any');
    const firstContext = this.firstContext(chains);
    // A chain that can verify client certificates asks for one; it insists only with requireClientCertificate.
    const requestClientCert = chains.some((c) => c.model.transportSocket!.requireClientCertificate || verifiesClientCert(c));
    const server = tls.createServer({
      secureContext: firstContext,
      SNICallback: (name, cb) => {
        const chain = this.chainFor(chains, name);
        if (chain) return cb(null, chain.secureContext);
        cb(new NoFilterChainError(name), undefined);
      },
      ALPNCallback: chooseAlpn,
      requestCert: requestClientCert,
      // Verification is judged in onSecureConnection, before a byte is read: there OpenSSL's reason
      // (expired, unknown CA, no certificate) is known and logged; a refusal inside the handshake only
      // surfaces as "socket hang up".
      rejectUnauthorized: false,
      handshakeTimeout: 10_000,
    });
    useFirstContext(server, firstContext);
    const custody = chains.some((c) => c.model.transportSocket!.commonTlsContext.tlsCertificates.every((t) => !t.privateKey));
    server.on('secureConnection', (s: tls.TLSSocket) => {
      if (custody && keyCustodyHealth.noteSuccess()) this.log('key custody restored: handshakes sign through keyd again', { listener: this.model.name });
      this.onSecureConnection(chains, s);
    });
    server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
      this.stats.tlsHandshakeFailures++;
      const serverName = err instanceof NoFilterChainError ? err.serverName : '';
      // Without SNI the handshake fails for want of a certificate when no chain is a catch-all.
      if (err instanceof NoFilterChainError || (fallback === undefined && !(s as tls.TLSSocket & { servername?: string | false }).servername)) {
        this.refuseNoFilterChain(s, serverName);
      } else {
        this.onTlsFailure(this.model.name, 'handshake');
        if (keyCustodyHealth.noteFailure(err)) {
          this.log('tls handshake refused: key custody (keyd) unavailable, failing closed', { listener: this.model.name, remote: s.remoteAddress, error: err.message });
        } else this.log('tls handshake failed', { listener: this.model.name, remote: s.remoteAddress, error: err.message });
      }
      s.destroy();
    });
    return server;
  }

  /**
   * A reload that kept this listener (same shape) brings new contexts: a rotated certificate or a changed
   * trust bundle must reach new handshakes, while live connections keep the context they were made with.
   */
  adoptTls(next: readonly FilterChainRuntime[]): void {
    this.chains.forEach((c, i) => {
      c.secureContext = next[i]!.secureContext;
      c.subjectAltNameMatchers = next[i]!.subjectAltNameMatchers;
    });
    // Sessions are issued and resumed with the first context's ticket keys: a new one (also when no
    // chain is a catch-all) keeps sessions checked against the old trust bundle from resuming.
    const first = this.firstContext(this.chains.filter((c) => c.isTls));
    for (const server of [this.tlsServer, this.tlsServerWithoutAlpn]) if (server) useFirstContext(server, first);
  }

  /** The context every handshake starts in (and sessions resume with): the catch-all chain's, else one with no certificate. */
  private firstContext(tlsChains: readonly FilterChainRuntime[]): tls.SecureContext {
    return tlsChains.find((c) => c.matchesServerName(undefined) === 'any')?.secureContext ?? this.noCertificateContext();
  }

  /** The listener's first context when no chain serves clients without SNI: it has no certificate. */
  private noCertificateContext(): tls.SecureContext {
    // OpenSSL looks a resumed session up in this context: with client certificates asked for, one without
    // a session id context fails every resumption attempt ("session id context uninitialized").
    const sessionIdContext = createHash('sha256').update(`listener "${this.model.name}"`).digest('hex').slice(0, 32);
    // Handshakes start in this context, and OpenSSL takes a connection's options from it: the proxy's policy too.
    return tls.createSecureContext(withProxyTlsPolicy({ minVersion: 'TLSv1.2', sessionIdContext, ...resumptionOptions(this.model) }));
  }

  private refuseNoFilterChain(socket: tls.TLSSocket, serverName: string): void {
    this.stats.noFilterChainMatch++;
    this.onTlsFailure(this.model.name, 'no_filter_chain_match');
    this.log('tls handshake refused: no filter chain serves this server name', { listener: this.model.name, remote: socket.remoteAddress, serverName });
  }

  /** An exact server name first, then a wildcard name, then a chain that names no server; else none. */
  private chainFor(chains: FilterChainRuntime[], serverName: string | undefined): FilterChainRuntime | undefined {
    let wildcard: FilterChainRuntime | undefined;
    let any: FilterChainRuntime | undefined;
    for (const c of chains) {
      const m = c.matchesServerName(serverName);
      if (m === 'exact') return c;
      if (m === 'wildcard') wildcard ??= c;
      else if (m === 'any') any ??= c;
    }
    return wildcard ?? any;
  }

  private onSecureConnection(chains: FilterChainRuntime[], socket: tls.TLSSocket): void {
    const serverName = (socket as tls.TLSSocket & { servername?: string | false }).servername || undefined;
    // A resumed TLS 1.2 session reports no server name; with one TLS chain (see resumptionOptions) it was made there.
    const chain = this.chainFor(chains, serverName) ?? (chains.length === 1 && socket.isSessionReused() ? chains[0] : undefined);
    if (!chain) {
      // Only reachable without SNI and without a catch-all chain: the empty fallback context has no certificate.
      this.refuseNoFilterChain(socket, '');
      closeRefusedPeer(socket);
      return;
    }
    const ts = chain.model.transportSocket!;
    let principal = '';
    // requireClientCertificate insists on a certificate; a validation context alone (Envoy: optional
    // client certificates) lets a client without one in, but one that is presented must verify.
    if (ts.requireClientCertificate || verifiesClientCert(chain)) {
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

/** A connection sent nothing within the listener filters timeout (a 'timeout' listener: `this` is the socket). */
function destroySilentSocket(this: Socket): void {
  this.destroy();
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

/** Node's tls.Server ignores options.secureContext; without this, clients that send no SNI get no certificate. */
function useFirstContext(server: tls.Server, context: tls.SecureContext): void {
  (server as unknown as { _sharedCreds: tls.SecureContext })._sharedCreds = context;
}

/**
 * TLS options that keep a session from being resumed on another filter chain than the one that made it.
 * OpenSSL resumes a session with the listener's first context, before the SNI callback would pick a
 * chain, and a resumed TLS 1.2 session reports no server name: with several TLS chains a resumed
 * session could land on a chain whose client-certificate checks it never passed (TLS 1.3, by the new
 * SNI) or on the catch-all chain (TLS 1.2). Such listeners do full handshakes only.
 */
export function resumptionOptions(listener: Listener): tls.SecureContextOptions {
  const tlsChains = listener.filterChains.filter((c) => c.transportSocket !== undefined).length;
  return tlsChains > 1 ? { secureOptions: constants.SSL_OP_NO_TICKET } : {};
}

/** The chain has a validation context to check client certificates against. */
function verifiesClientCert(chain: FilterChainRuntime): boolean {
  const c = chain.model.transportSocket?.commonTlsContext;
  return c !== undefined && (c.validationContext?.trustedCa !== undefined || c.validationContextSdsSecretConfig !== undefined);
}

/**
 * The ALPN protocols a TLS listener offers: a chain's own alpnProtocols when it lists them, else what
 * its codec speaks (AUTO both, HTTP1 or HTTP2 one). Only h2 and http/1.1 are ever chosen (and
 * http/1.0, see alpnChooser).
 */
function offeredAlpn(chains: FilterChainRuntime[]): string[] | undefined {
  const offered = new Set<string>();
  for (const c of chains) {
    const hcm = c.model.filters[0];
    if (c.tcp || hcm?.name !== 'envoy.filters.network.http_connection_manager') continue;
    const explicit = c.model.transportSocket?.commonTlsContext.alpnProtocols ?? [];
    if (explicit.length > 0) for (const p of explicit) offered.add(p);
    else {
      if (hcm.typedConfig.codecType !== 'HTTP1') offered.add('h2');
      if (hcm.typedConfig.codecType !== 'HTTP2') offered.add('http/1.1');
    }
  }
  const list = ['h2', 'http/1.1'].filter((p) => offered.has(p));
  return list.length > 0 ? list : undefined;
}

type AlpnChooser = (hello: { protocols: string[] }) => string | undefined;

/**
 * Picks the listener's first protocol the client asks for. A client that asks only for http/1.0
 * (curl --http1.0) is served by the HTTP/1.1 codec, as HTTP/1.0 is over plaintext: a plain ALPN list
 * would refuse its handshake. undefined when nothing overlaps: such clients are handed to the listener's
 * server without ALPN before the handshake (node:tls would refuse them with no_application_protocol).
 */
function alpnChooser(offered: string[] | undefined): AlpnChooser | undefined {
  if (offered === undefined) return undefined;
  const http10 = offered.includes('http/1.1');
  return ({ protocols }) => offered.find((p) => protocols.includes(p)) ?? (http10 && protocols.includes('http/1.0') ? 'http/1.0' : undefined);
}
