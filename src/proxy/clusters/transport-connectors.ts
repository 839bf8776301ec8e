import net from 'node:net';
import tls from 'node:tls';
import type { Cluster } from '../../model/cluster.js';
import type { Secret } from '../../model/tls.js';
import type { TransportConnector } from '../http/h1-connection-pool.js';
import { contextCertificates, createSecureContext, subjectAltNameMatchers, type KeyPolicy } from '../tls/secure-context-factory.js';
import { sanMatches } from '../tls/san-match.js';
import { slabReads, type ReadHandler } from '../http/read-slab.js';
import { watchTlsHandshake } from '../tls/upstream-tls-failure.js';
import { logUpstreamTlsFailure } from './tls-failure-log.js';

/** Plain TCP to the endpoint; with a reader, reads go straight to it through a ReadSlab (no 'data' events). */
export function tcpConnector(cluster: Pick<Cluster, 'tcpKeepaliveMs'>): TransportConnector {
  const keepAlive = cluster.tcpKeepaliveMs > 0;
  const keepAliveInitialDelay = cluster.tcpKeepaliveMs;
  return {
    readyEvent: 'connect',
    deliversReads: true,
    connect(address: string, port: number, onData?: ReadHandler): net.Socket {
      if (onData === undefined) return net.connect({ host: address, port, noDelay: true, keepAlive, keepAliveInitialDelay });
      return net.connect({ host: address, port, noDelay: true, keepAlive, keepAliveInitialDelay, onread: slabReads(onData) });
    },
  };
}

/** TLS origination (Envoy's UpstreamTlsContext): SNI, trust bundle, client certificate for mTLS, SAN checks. */
export function tlsConnector(cluster: Cluster, secrets: readonly Secret[], policy: KeyPolicy, alpn: string[]): TransportConnector {
  const upstream = cluster.transportSocket!;
  const common = upstream.commonTlsContext;
  const certs = contextCertificates(common, secrets);
  const context = createSecureContext(common, certs[0], secrets, policy, `cluster "${cluster.name}"`);
  const sans = subjectAltNameMatchers(common, secrets);
  // Resumption across connections to the same upstream spares full handshakes.
  const sessions = new Map<string, Buffer>();
  return {
    readyEvent: 'secureConnect',
    connect(address: string, port: number): net.Socket {
      const key = `${address}:${port}`;
      const socket = tls.connect({
        host: address,
        port,
        servername: upstream.sni ?? (net.isIP(address) ? undefined : address),
        secureContext: context,
        ALPNProtocols: common.alpnProtocols.length > 0 ? common.alpnProtocols : alpn,
        // Always verified: without a trustedCa against Node's public roots. An upstream certificate is
        // never taken unchecked (Envoy would take any here; Bulwark fails closed on identity).
        rejectUnauthorized: true,
        session: sessions.get(key),
        checkServerIdentity: (host, cert) => {
          // Node's code for certificate names that do not match, so logs and access logs name it alike.
          if (sans.length > 0) return sanMatches(cert, sans) ? undefined : Object.assign(new Error(`upstream certificate SANs do not match for ${host}`), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
          return upstream.sni ? tls.checkServerIdentity(upstream.sni, cert) : undefined;
        },
      });
      watchTlsHandshake(socket, (reason) => logUpstreamTlsFailure(cluster.name, key, reason));
      socket.setNoDelay(true);
      if (cluster.tcpKeepaliveMs > 0) socket.setKeepAlive(true, cluster.tcpKeepaliveMs);
      socket.on('session', (s: Buffer) => sessions.set(key, s));
      return socket;
    },
  };
}
