import type { TLSSocket } from 'node:tls';

/** How long a refused client gets to read the close_notify and hang up before its socket is cut. */
const REFUSAL_LINGER_MS = 1_000;

/**
 * Closes a TLS connection the listener refused after the handshake (peer certificate, no filter chain).
 * Node cannot fail a handshake from JavaScript on a certificate OpenSSL accepted, nor send an alert
 * afterwards, so the refusal is a close_notify and a FIN. destroy() instead would answer with a TCP
 * reset: a TLS 1.3 client has sent its first request right behind its Finished, and a socket closed
 * with unread bytes (or that receives bytes once closed) resets; the client then reports
 * "connection reset" rather than a server that closed the TLS session.
 */
export function closeRefusedPeer(socket: TLSSocket): void {
  // Read and drop what the client sends until it hangs up, so nothing is left unread.
  socket.on('data', () => undefined);
  socket.on('error', () => socket.destroy());
  const timer = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end();
}
