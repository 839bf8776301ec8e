import type { Socket } from 'node:net';
import tls from 'node:tls';
import { requestsClientCert } from '../tls/client-certificate-request.js';
import { chainAlpnChooser, type AlpnChooser } from './chain-alpn.js';
import type { FilterChainRuntime } from './filter-chain-runtime.js';

/** What every TLS chain of a listener shares: where outcomes go. */
export interface ChainTlsSettings {
  onSecure(chain: FilterChainRuntime, socket: tls.TLSSocket): void;
  onHandshakeError(chain: FilterChainRuntime, err: Error, socket: tls.TLSSocket): void;
}

/**
 * The TLS servers of one filter chain. The listener picks the chain from the ClientHello before the
 * handshake, as Envoy's tls_inspector does, and the handshake runs in the chain's own context from its
 * first byte. That is what keeps session resumption on the chain that made the session: OpenSSL looks
 * a session up (ticket keys, session id context) in the context the connection started in, before any
 * SNI callback, and skips the certificate callback (where Node applies an SNI context) when it resumes.
 * A listener-wide server with an SNICallback would resume any chain's session in its first context.
 */
export class ChainTlsServer {
  private readonly server: tls.Server;
  /** The chain's own ALPN choice (see chain-alpn.ts); undefined when it offers none. */
  private readonly chooseAlpn: AlpnChooser | undefined;
  /**
   * Takes the clients whose ALPN offer has nothing the chain speaks: they go on without ALPN, as in
   * Envoy. node:tls refuses them with no_application_protocol once an ALPN list or callback is set, so
   * they need a server without either. Made when the chain offers ALPN.
   */
  private readonly serverWithoutAlpn: tls.Server | undefined;

  constructor(
    readonly chain: FilterChainRuntime,
    private readonly settings: ChainTlsSettings,
  ) {
    this.chooseAlpn = chainAlpnChooser(chain);
    this.server = this.createServer(this.chooseAlpn);
    if (this.chooseAlpn) this.serverWithoutAlpn = this.createServer(undefined);
  }

  /** The chain negotiates ALPN: its server is picked once the ClientHello's offer is read. */
  get offersAlpn(): boolean {
    return this.chooseAlpn !== undefined;
  }

  /** Starts the handshake on a socket whose ClientHello offered `alpn` (nothing consumed yet). */
  accept(socket: Socket, alpn: readonly string[]): void {
    const withoutAlpn = this.serverWithoutAlpn && alpn.length > 0 && this.chooseAlpn!({ protocols: [...alpn] }) === undefined;
    (withoutAlpn ? this.serverWithoutAlpn! : this.server).emit('connection', socket);
  }

  /** New handshakes use the chain's current context (a reload replaced it); live connections keep theirs. */
  useCurrentContext(): void {
    useContext(this.server, this.chain.secureContext!);
    if (this.serverWithoutAlpn) useContext(this.serverWithoutAlpn, this.chain.secureContext!);
  }

  private createServer(chooseAlpn: AlpnChooser | undefined): tls.Server {
    const server = tls.createServer({
      ALPNCallback: chooseAlpn,
      // Only a chain that checks client certificates asks for one (a CertificateRequest).
      requestCert: requestsClientCert(this.chain.model.transportSocket!),
      // Verification is judged in onSecure, before a byte is read: there OpenSSL's reason (expired,
      // unknown CA, no certificate) is known and logged; a refusal inside the handshake only surfaces
      // as "socket hang up".
      rejectUnauthorized: false,
      handshakeTimeout: 10_000,
    });
    useContext(server, this.chain.secureContext!);
    server.on('secureConnection', (s: tls.TLSSocket) => this.settings.onSecure(this.chain, s));
    server.on('tlsClientError', (err: Error, s: tls.TLSSocket) => this.settings.onHandshakeError(this.chain, err, s));
    return server;
  }
}

/** node:tls ignores options.secureContext on a server: the context every handshake starts in is _sharedCreds. */
function useContext(server: tls.Server, context: tls.SecureContext): void {
  (server as unknown as { _sharedCreds: tls.SecureContext })._sharedCreds = context;
}
