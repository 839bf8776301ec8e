/**
 * One port that serves HTTP/1.1 and HTTP/2 with prior knowledge (h2c), told apart by the HTTP/2
 * connection preface, as Envoy's admin (codec AUTO) does. Both hand requests to one handler through
 * node's compatibility API.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { replaying } from '../../util/replaying-stream.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** How long a connection gets to send enough bytes to tell its protocol; then the HTTP/1.1 server's own timeouts apply. */
const SNIFF_TIMEOUT_MS = 10_000;

export type AdminRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type AdminResponse = http.ServerResponse | http2.Http2ServerResponse;

export class H1H2cServer {
  readonly listener: net.Server;
  private readonly h1: http.Server;
  private readonly h2c: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(handler: (req: AdminRequest, res: AdminResponse) => void) {
    this.h1 = http.createServer(handler);
    this.h2c = http2.createServer({}, handler);
    this.h2c.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    this.listener = net.createServer((socket) => this.route(socket));
  }

  close(): void {
    this.listener.close();
    this.h1.closeAllConnections();
    for (const s of this.sessions) s.destroy();
  }

  /** Reads until the bytes tell HTTP/2's preface from anything else, then gives the socket to that server. */
  private route(socket: net.Socket): void {
    let seen: Buffer = Buffer.alloc(0);
    socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const h2 = seen.compare(H2_PREFACE, 0, n, 0, n) === 0;
      if (h2 && seen.length < H2_PREFACE.length) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      if (h2) {
        this.h2c.emit('connection', replaying(socket, seen));
        return;
      }
      socket.pause();
      socket.unshift(seen);
      this.h1.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
  }
}
