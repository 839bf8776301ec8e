import type { Socket } from 'node:net';

/**
 * Closes `socket` once what was already written to it has gone out, as Envoy's FlushWrite close
 * does when the other side of a tunnel closes: destroy() would drop the tail still queued for a
 * peer that reads slowly. A peer that stops reading altogether is cut after `graceMs` of no progress
 * (0: at once).
 */
export function closeAfterFlush(socket: Socket, graceMs: number): void {
  if (socket.destroyed) return;
  if (socket.writableFinished || socket.writableLength === 0 || socket.connecting || graceMs <= 0) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  // The socket timeout restarts on every write that completes: it measures lack of progress.
  socket.setTimeout(graceMs, () => socket.destroy());
  if (!socket.writableEnded) socket.end();
}
