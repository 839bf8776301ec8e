import type tls from 'node:tls';

/** The reason of each error that ended an upstream TLS handshake, keyed by the error object. */
const handshakeFailures = new WeakMap<Error, string>();

/**
 * Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON% in OpenSSL's and Node's words, e.g.
 * "TLS_error: SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain". Only the
 * error's code and message are used: the certificate Node attaches to some of them stays out.
 */
export function tlsFailureReason(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  // OpenSSL's own messages may end in a newline: the reason is one line of a JSON log.
  const message = err.message.replace(/\s+/g, ' ').trim();
  return code ? `TLS_error: ${code}: ${message}` : `TLS_error: ${message}`;
}

/**
 * Marks the error that ends `socket` after its TCP connection opened and before its handshake
 * completed (verification, SANs, hostname, alerts), so whoever gets the error can tell a TLS failure
 * from a refused connection. Runs before the socket's other 'error' listeners.
 */
export function watchTlsHandshake(socket: tls.TLSSocket, onFailure: (reason: string) => void): void {
  let tcpConnected = false;
  let secured = false;
  socket.once('connect', () => (tcpConnected = true));
  socket.once('secureConnect', () => (secured = true));
  socket.prependOnceListener('error', (err: Error) => {
    if (!tcpConnected || secured) return;
    const reason = tlsFailureReason(err);
    handshakeFailures.set(err, reason);
    onFailure(reason);
  });
}

/** The TLS handshake failure `err` stands for, if it is one (see watchTlsHandshake). */
export function upstreamTransportFailureReason(err: unknown): string | undefined {
  return err instanceof Error ? handshakeFailures.get(err) : undefined;
}
