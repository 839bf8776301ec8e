import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

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
  /** "ip:port" of this proxy's side [%DOWNSTREAM_LOCAL_ADDRESS% / %UPSTREAM_LOCAL_ADDRESS%]. */
  readonly local: string | undefined;
  /** "ip:port" of the peer [%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%]. */
  readonly remote: string | undefined;
  /** The TLS SNI the client sent [%REQUESTED_SERVER_NAME%]; undefined without TLS or SNI. */
  readonly serverName: string | undefined;
}

/** `serverName` is for a TLS connection passed through unterminated, whose SNI the listener read itself. */
export function connectionEndpoints(socket: Socket | undefined, serverName?: string): ConnectionEndpoints {
  if (socket === undefined) return { local: undefined, remote: undefined, serverName };
  return {
    local: endpointText(socket.localAddress, socket.localPort),
    remote: endpointText(socket.remoteAddress, socket.remotePort),
    serverName: serverName || (socket as TLSSocket).servername || undefined,
  };
}
