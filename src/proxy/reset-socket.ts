import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * Closes `socket` with a TCP RST, as a proxy passes on a reset it met on the other side: a FIN would
 * tell the peer the stream ended whole. What is still queued for the peer is dropped, as the reset
 * that caused this dropped it. A TLS socket is only destroyed (its handle cannot send an RST): the
 * missing close_notify tells its peer the stream was cut short.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket instanceof TLSSocket || socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}
