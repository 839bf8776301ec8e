import http2, { type ClientHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { LoadOptions } from './load-options.js';
import type { CallDone, LoadConnection } from './load-connection.js';
import type { LoadTarget } from './load-target.js';
import { SocketStats } from './socket-stats.js';
import { inflatedCall, isGzipEncoding, requestsGzip } from './gzip-response.js';

/** HTTP/2 (h2c prior knowledge, or TLS with ALPN h2): one session, one stream at a time. */
export class H2LoadConnection implements LoadConnection {
  private session: ClientHttp2Session | undefined;
  private readonly headers: http2.OutgoingHttpHeaders;
  private readonly body: Buffer | undefined;
  private tlsSession: Buffer | undefined;
  private stream: http2.ClientHttp2Stream | undefined;
  readonly sockets: SocketStats;

  constructor(
    private readonly target: LoadTarget,
    o: LoadOptions,
  ) {
    this.headers = { ':method': o.method, ':path': target.path, ':authority': target.authority, 'user-agent': 'bulwark-load' };
    for (const [name, value] of o.headers) {
      if (name === 'host') this.headers[':authority'] = value;
      else this.headers[name] = value;
    }
    if (this.headers['content-type'] === undefined && (o.contentType !== undefined || o.payload.length > 0)) this.headers['content-type'] = o.contentType ?? 'application/octet-stream';
    this.body = o.payload.length > 0 ? o.payload : undefined;
    this.gunzip = requestsGzip(o);
    if (this.gunzip) this.headers['accept-encoding'] = 'gzip';
    this.newConnectionPerCall = o.newConnection;
    this.resume = o.resume;
    this.sockets = new SocketStats(o.histogram);
  }

  private readonly newConnectionPerCall: boolean;
  /** The requests ask for gzip (-compression): a gzip body is read decompressed, as Go's HTTP/2 transport does. */
  private readonly gunzip: boolean;
  private readonly resume: boolean;

  call(done: CallDone): void {
    const session = this.ensureSession();
    let status = 0;
    let bytes = 0;
    let finished = false;
    let gzipBody: Buffer[] | undefined;
    const finish = (s: number): void => {
      if (finished) return;
      finished = true;
      this.stream = undefined;
      if (this.newConnectionPerCall || s < 0) this.dropSession();
      if (s >= 0 && gzipBody !== undefined && gzipBody.length > 0) ({ status: s, bytes } = inflatedCall(s, gzipBody));
      done(s, bytes);
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(this.headers, { endStream: this.body === undefined });
    } catch {
      finish(-1);
      return;
    }
    this.stream = stream;
    stream.on('response', (h) => {
      status = Number(h[':status']);
      if (this.gunzip && isGzipEncoding(h['content-encoding'] as string | undefined)) gzipBody = [];
    });
    stream.on('data', (c: Buffer) => {
      bytes += c.length;
      gzipBody?.push(c);
    });
    stream.on('end', () => finish(status || -1));
    stream.on('error', () => finish(-1));
    stream.on('close', () => finish(status && stream.rstCode === 0 ? status : -1));
    if (this.body) stream.end(this.body);
  }

  abort(): void {
    this.stream?.close(http2.constants.NGHTTP2_CANCEL);
    this.dropSession();
  }

  close(): void {
    this.dropSession();
  }

  private ensureSession(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const t = this.target;
    const origin = `${t.tls ? 'https' : 'http'}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
    this.sockets.connecting();
    const session = http2.connect(origin, t.tls ? { ...t.tls, session: this.resume ? this.tlsSession : undefined } : {});
    // Fortio's standard client, which it uses for -h2, times the TCP dial (the TLS handshake apart).
    session.socket.once('connect', () => this.sockets.connected());
    session.on('error', () => this.dropSession(session));
    session.on('close', () => this.dropSession(session));
    session.once('connect', (_s, socket) => {
      this.sockets.peer(socket.remoteAddress ?? t.host, socket.remotePort ?? t.port);
      if (!t.tls) return;
      const tlsSocket = socket as TLSSocket;
      if (tlsSocket.isSessionReused()) this.sockets.resumed++;
      else this.sockets.handshakes++;
      if (this.resume) tlsSocket.on('session', (s: Buffer) => (this.tlsSession = s));
    });
    this.session = session;
    return session;
  }

  private dropSession(which?: ClientHttp2Session): void {
    const s = this.session;
    if (which && which !== s) return;
    // A dial that failed or was cut (timeout, end of the run) is timed too.
    if (s) this.sockets.connected();
    this.session = undefined;
    s?.destroy();
  }
}
