import type net from 'node:net';
import { Duplex } from 'node:stream';

/**
 * A duplex over `socket` that yields `first` before the socket's further bytes. node:http2 reads a
 * socket's handle directly and would miss bytes already read from it (to tell its protocol), so an
 * HTTP/2 server is given this stream instead.
 */
export function replaying(socket: net.Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (socket.write(chunk)) cb();
      else socket.once('drain', () => cb());
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  duplex.push(first);
  socket.on('data', (d: Buffer) => {
    if (!duplex.push(d)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  socket.on('error', (err) => duplex.destroy(err));
  return duplex;
}
