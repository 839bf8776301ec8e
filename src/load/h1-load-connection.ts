import net, { type LookupFunction, type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { H1ResponseReader } from './h1-response-reader.js';
import { inflatedCall } from './gzip-response.js';
import { ClientAddress, dialLookup } from './fortio-dns.js';
import { parseDecimal } from './fortio-fast-response.js';
import { httpOk } from './http-ok.js';
import type { CallDone, LoadConnection } from './load-connection.js';
import type { HistogramLayout } from './latency-recorder.js';
import type { LoadTarget } from './load-target.js';
import { SocketStats } from './socket-stats.js';
import { drawReuseThreshold, type ReuseRange } from './connection-reuse.js';

export interface H1ConnectionOptions {
  /** A new connection for every call (-new-conn, -keepalive=false, -http1.0). */
  newConnectionPerCall: boolean;
  /** -halfclose: with a connection per call, shut the sending side after the request (fast client, plain TCP only, as Fortio's). */
  halfClose: boolean;
  /** -connection-reuse: the range of calls a connection carries before it closes (fast client only, as Fortio's). */
  reuseRange: ReuseRange;
  /** Resume the TLS session when reconnecting (-resume). */
  resume: boolean;
  /** A HEAD request: no body whatever the response's headers say. */
  expectNoBody: boolean;
  /**
   * As Fortio's fast client (rather than its standard one): close the connection after a response
   * that is not OK, time a TLS connection to the end of its handshake (not its TCP connect), and
   * count a failed attempt under the address it dialled.
   */
  fastClient: boolean;
  /** -r and -offset, for the connection times. */
  layout: HistogramLayout;
  /** The requests ask for gzip (-compression, standard client): a gzip body is read decompressed. */
  gunzip: boolean;
  /** -httpbufferkb in bytes: the fast client reads no more of a response (Infinity for the standard client). */
  bufferBytes: number;
  /** -httpccch: the fast client reads a "Connection: close" response to the close. */
  checkConnectionClosedHeader: boolean;
  /** Prints Fortio's warning for a response its buffer cut (undefined: quiet). */
  warn: ((line: string) => void) | undefined;
}

/** HTTP/1.1 keep-alive over raw sockets: a pre-built request, a minimal reader, no per-call closures. */
export class H1LoadConnection implements LoadConnection {
  private socket: Socket | undefined;
  private ready = false;
  private readonly reader = new H1ResponseReader();
  private done: CallDone | undefined;
  private session: Buffer | undefined;
  /** The request in flight: the run's, or one hop of a redirect chain (-L). */
  private request: Buffer;
  /** The calls this connection carries before it closes (0: unlimited), and the calls it carried. */
  private reuseThreshold: number;
  private reuseCount = 0;
  private readonly halfCloses: boolean;
  /**
   * The unread rest of a response the buffer cut, which the kept connection still holds: Fortio's
   * next call on it reads these bytes as its response (its status from bytes 9-11), then closes.
   */
  private unread: Buffer[] | undefined;
  /** The fast client dials a name through Fortio's resolution (-resolve-ip-type, -dns-method, -no-reresolve). */
  private readonly lookup: LookupFunction | undefined;
  readonly sockets: SocketStats;

  constructor(
    private readonly target: LoadTarget,
    private readonly runRequest: Buffer,
    private readonly o: H1ConnectionOptions,
    /** Shared by the connections of one loop that follows redirects to several origins. */
    sockets?: SocketStats,
  ) {
    this.request = runRequest;
    this.reader.expectNoBody = o.expectNoBody;
    this.reader.keepGzipBody = o.gunzip;
    this.reader.limit = o.fastClient ? o.bufferBytes : Infinity;
    this.lookup = target.resolver && o.fastClient ? dialLookup(new ClientAddress(target.resolver, target.host)) : undefined;
    this.reader.readToCloseOnConnectionClose = o.fastClient && o.checkConnectionClosedHeader;
    this.sockets = sockets ?? new SocketStats(o.layout);
    this.reuseThreshold = o.fastClient ? drawReuseThreshold(o.reuseRange) : 0;
    // Fortio half closes only a *net.TCPConn: not a TLS connection nor a Unix socket.
    this.halfCloses = o.halfClose && o.fastClient && o.newConnectionPerCall && target.tls === undefined && target.socketPath === undefined;
  }

  call(done: CallDone): void {
    this.send(this.runRequest, done);
  }

  /** Sends `request` (built for this connection's target) and calls `done` with its response. */
  send(request: Buffer, done: CallDone): void {
    this.request = request;
    this.done = done;
    this.reader.reset();
    // A connection that reached its threshold was closed: the next draws a new one.
    if (this.reachedReuseThreshold()) this.reuseThreshold = drawReuseThreshold(this.o.reuseRange);
    if (this.socket === undefined) {
      this.reuseCount = 1;
      this.connect();
    } else {
      this.reuseCount++;
      if (this.ready) this.write(this.socket);
      if (this.unread) this.readUnread(this.socket);
    }
  }

  /** Fortio's call on a connection that still holds the rest of a cut response: those bytes are its answer. */
  private readUnread(socket: Socket): void {
    const bytes = Buffer.concat(this.unread!);
    // Fortio's status offset: it reads until it has bytes 9-11.
    if (bytes.length < 12) return;
    this.unread = undefined;
    const status = parseDecimal(bytes.subarray(9, 12));
    const done = this.done!;
    this.done = undefined;
    if (socket === this.socket) this.drop();
    done(status, 0, 0, Math.min(bytes.length, this.o.bufferBytes));
  }

  private write(socket: Socket): void {
    socket.write(this.request);
    if (this.halfCloses) socket.end();
  }

  private reachedReuseThreshold(): boolean {
    return this.reuseThreshold !== 0 && this.reuseCount >= this.reuseThreshold;
  }

  /** The last response's Location header. */
  get location(): string | undefined {
    return this.reader.location;
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
    this.sockets.connecting();
    const path = t.socketPath !== undefined ? { path: t.socketPath } : {};
    // One address a dial, as Go's dialer given Fortio's resolved one (no fallback to another family).
    const lookup = this.lookup ? { lookup: this.lookup, autoSelectFamily: false } : {};
    if (t.tls) {
      const s = tls.connect({ ...t.tls, ...path, ...lookup, session: this.o.resume ? this.session : undefined });
      s.once('secureConnect', () => this.onReady(s));
      if (this.o.resume) s.on('session', (session: Buffer) => (this.session = session));
      // Fortio's standard client times the TCP dial, its TLS handshake apart.
      if (!this.o.fastClient) s.once('connect', () => this.sockets.connected());
      socket = s;
    } else {
      socket = t.socketPath !== undefined ? net.connect(t.socketPath) : net.connect({ port: t.port, host: t.host, ...lookup });
      socket.once('connect', () => this.onReady(socket));
    }
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err: ConnectError) => this.onBroken(socket, err));
    socket.on('close', () => this.onBroken(socket));
    this.socket = socket;
    this.ready = false;
  }

  private onReady(socket: Socket): void {
    if (socket !== this.socket) return;
    this.sockets.connected();
    // Fortio counts the addresses it resolved: none for a Unix socket.
    if (this.target.socketPath === undefined) this.sockets.peer(socket.remoteAddress ?? this.target.host, socket.remotePort ?? this.target.port);
    if (this.target.tls) {
      if ((socket as TLSSocket).isSessionReused()) this.sockets.resumed++;
      else this.sockets.handshakes++;
    }
    this.ready = true;
    if (this.done) this.write(socket);
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    if (this.unread) {
      this.unread.push(chunk);
      if (this.done) this.readUnread(socket);
      return;
    }
    if (!this.done) return;
    let end: number;
    try {
      end = this.reader.feed(chunk, 0);
    } catch {
      this.fail();
      return;
    }
    if (end < 0) return;
    const status = this.reader.status;
    if (this.reader.truncated) this.cut(chunk.subarray(end));
    // Fortio's fast client keeps a connection only after an OK response.
    this.complete(status, this.reader.bodyBytes, !this.reader.keepAlive || this.o.newConnectionPerCall || (this.o.fastClient && !httpOk(status)) || this.reachedReuseThreshold());
  }

  /** A response the buffer cut: Fortio's warning, and its rest kept for the next call if the connection stays. */
  private cut(rest: Buffer): void {
    const r = this.reader;
    this.o.warn?.(r.headerBytes === 0 ? `Buffer too small to even finish reading headers, increase -httpbufferkb to get all the data (max ${this.o.bufferBytes})` : `Buffer is too small for headers + data - change -httpbufferkb flag (header_len ${r.headerBytes}, buffer ${this.o.bufferBytes})`);
    this.unread = [rest];
  }

  private onBroken(socket: Socket, err?: ConnectError): void {
    if (socket !== this.socket) return;
    if (!this.ready) this.attemptFailed(err);
    // A body that reads until close ends here; anything else in flight failed.
    if (this.done && this.reader.untilClose) this.complete(this.reader.status, this.reader.bodyBytes, true);
    else if (this.done) this.fail();
    else this.drop();
  }

  private complete(status: number, bytes: number, closeAfter: boolean): void {
    const done = this.done!;
    this.done = undefined;
    if (closeAfter) this.drop();
    const gzip = this.reader.gzipBody;
    if (gzip !== undefined && gzip.length > 0) ({ status, bytes } = inflatedCall(status, gzip));
    done(status, bytes, this.reader.headerBytes, this.reader.wireBytes);
  }

  private fail(): void {
    const done = this.done!;
    this.done = undefined;
    this.drop();
    done(-1, 0);
  }

  /** Times a connect attempt that ended without a connection (refused, timed out, cut). */
  private attemptFailed(err: ConnectError | undefined): void {
    if (!this.sockets.pending) return;
    this.sockets.connected();
    // Fortio's fast client counts the address it resolved, whether or not the dial succeeded.
    if (this.o.fastClient && this.target.socketPath === undefined) this.sockets.peer(err?.address ?? this.target.host, err?.port ?? this.target.port);
  }

  private drop(): void {
    const s = this.socket;
    this.unread = undefined;
    if (s && !this.ready) this.attemptFailed(undefined);
    this.socket = undefined;
    this.ready = false;
    s?.destroy();
  }
}

/** A connect error carries the address and port it failed to reach. */
type ConnectError = Error & { address?: string; port?: number };
