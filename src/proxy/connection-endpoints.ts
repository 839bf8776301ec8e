import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { nextConnectionId } from './connection-ids.js';

/** An address and port as Envoy writes one in access logs: "ip:port", an IPv6 address in brackets. */
export function endpointText(address: string | undefined, port: number | undefined): string | undefined {
  if (!address) return undefined;
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}

/**
 * The two ends of a connection and the server name its client asked for, as the access log names
 * them. Read once per connection (each is a getsockname / getpeername call), never per request.
 */
export interface ConnectionEndpoints {
  /** The connection's number [%CONNECTION_ID%] (connection-ids.ts). */
  readonly id: number;
  /** "ip:port" of this proxy's side [%DOWNSTREAM_LOCAL_ADDRESS% / %UPSTREAM_LOCAL_ADDRESS%]. */
  readonly local: string | undefined;
  /** "ip:port" of the peer [%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%]. */
  readonly remote: string | undefined;
  /** The TLS SNI the client sent [%REQUESTED_SERVER_NAME%]; undefined without TLS or SNI. */
  readonly serverName: string | undefined;
  /** "TLSv1.3", ... [%DOWNSTREAM_TLS_VERSION%]; read only when a format asks (`withTls`). */
  readonly tlsVersion: string | undefined;
  /** The cipher suite's OpenSSL name [%DOWNSTREAM_TLS_CIPHER%]; read only when a format asks. */
  readonly tlsCipher: string | undefined;
}

/**
 * `serverName` is for a TLS connection passed through unterminated, whose SNI the listener read itself.
 * `withTls` reads the terminated session's version and cipher now, while the connection is open: a
 * line written after the client left could not.
 */
export function connectionEndpoints(socket: Socket | undefined, serverName?: string, withTls = false): ConnectionEndpoints {
  if (socket === undefined) return { id: nextConnectionId(), local: undefined, remote: undefined, serverName, tlsVersion: undefined, tlsCipher: undefined };
  const tls = withTls && socket instanceof TLSSocket ? socket : undefined;
  // One shape whether or not TLS is read, so the access log's reads of it stay monomorphic.
  return {
    id: nextConnectionId(),
    local: endpointText(socket.localAddress, socket.localPort),
    remote: endpointText(socket.remoteAddress, socket.remotePort),
    serverName: serverName || (socket as TLSSocket).servername || undefined,
    tlsVersion: tls?.getProtocol() ?? undefined,
    tlsCipher: tls?.getCipher()?.name,
  };
}
