import net, { type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { H1ResponseReader } from './h1-response-reader.js';
import { httpOk } from './http-ok.js';
import type { CallDone, LoadConnection } from './load-connection.js';
import { countPeer, type LoadTarget } from './load-target.js';

export interface H1ConnectionOptions {
  /** A new connection for every call (-new-conn, -keepalive=false, -http1.0). */
  newConnectionPerCall: boolean;
  /** Resume the TLS session when reconnecting (-resume). */
  resume: boolean;
  /** A HEAD request: no body whatever the response's headers say. */
  expectNoBody: boolean;
  /** Close the connection after a response that is not OK, as Fortio's fast client does. */
  closeAfterNotOk: boolean;
}

/** HTTP/1.1 keep-alive over raw sockets: a pre-built request, a minimal reader, no per-call closures. */
export class H1LoadConnection implements LoadConnection {
  private socket: Socket | undefined;
  private ready = false;
  private readonly reader = new H1ResponseReader();
  private done: CallDone | undefined;
  private session: Buffer | undefined;
  sockets = 0;
  readonly peers = new Map<string, number>();
  handshakes = 0;
  resumed = 0;

  constructor(
    private readonly target: LoadTarget,
    private readonly request: Buffer,
    private readonly o: H1ConnectionOptions,
  ) {
    this.reader.expectNoBody = o.expectNoBody;
  }

  call(done: CallDone): void {
    this.done = done;
    this.reader.reset();
    if (this.socket === undefined) this.connect();
    else if (this.ready) this.socket.write(this.request);
  }

  abort(): void {
    this.done = undefined;
    this.drop();
  }

  close(): void {
    this.done = undefined;
    this.drop();
  }

  private connect(): void {
    const t = this.target;
    let socket: Socket;
    if (t.tls) {
      const s = tls.connect({ ...t.tls, session: this.o.resume ? this.session : undefined });
      s.once('secureConnect', () => this.onReady(s));
      if (this.o.resume) s.on('session', (session: Buffer) => (this.session = session));
      socket = s;
    } else {
      socket = net.connect(t.port, t.host);
      socket.once('connect', () => this.onReady(socket));
    }
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', () => this.onBroken(socket));
    socket.on('close', () => this.onBroken(socket));
    this.socket = socket;
    this.ready = false;
  }

  private onReady(socket: Socket): void {
    if (socket !== this.socket) return;
    this.sockets++;
    countPeer(this.peers, socket);
    if (this.target.tls) {
      if ((socket as TLSSocket).isSessionReused()) this.resumed++;
      else this.handshakes++;
    }
    this.ready = true;
    if (this.done) socket.write(this.request);
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket || !this.done) return;
    let end: number;
    try {
      end = this.reader.feed(chunk, 0);
    } catch {
      this.fail();
      return;
    }
    if (end < 0) return;
    const status = this.reader.status;
    this.complete(status, this.reader.bodyBytes, !this.reader.keepAlive || this.o.newConnectionPerCall || (this.o.closeAfterNotOk && !httpOk(status)));
  }

  private onBroken(socket: Socket): void {
    if (socket !== this.socket) return;
    // A body that reads until close ends here; anything else in flight failed.
    if (this.done && this.reader.untilClose) this.complete(this.reader.status, this.reader.bodyBytes, true);
    else if (this.done) this.fail();
    else this.drop();
  }

  private complete(status: number, bytes: number, closeAfter: boolean): void {
    const done = this.done!;
    this.done = undefined;
    if (closeAfter) this.drop();
    done(status, bytes, this.reader.headerBytes, this.reader.wireBytes);
  }

  private fail(): void {
    const done = this.done!;
    this.done = undefined;
    this.drop();
    done(-1, 0);
  }

  private drop(): void {
    const s = this.socket;
    this.socket = undefined;
    this.ready = false;
    s?.destroy();
  }
}
