import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { H1Head } from './h1-parser.js';
import type { UpstreamExchange } from './h1-upstream-connection.js';
import { mayOpenConnection, type PoolStats, type TransportConnector } from './h1-connection-pool.js';
import type { BodyFraming, UpstreamRequest } from './upstream-request.js';
import { addH2Headers } from './h2-header-object.js';
import { resetStream, wasReset } from './h2-reset.js';
import { STRANDED_BODY_LIMIT } from './h2-stranded-body.js';
import { sendWindowStarved } from './h2-send-window.js';
import { isIdempotent } from './idempotent-methods.js';
import { isHopByHop } from './hop-by-hop.js';
import { CONNECT_TIMEOUT, ResetReason } from './upstream-reset-reason.js';
import { endpointText } from '../connection-endpoints.js';
import { upstreamTransportFailureReason } from '../tls/upstream-tls-failure.js';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM, NGHTTP2_FRAME_SIZE_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** The HTTP/2 frame type of HEADERS (RFC 9113 §6.2), as node's 'frameError' names it. */
const HEADERS_FRAME = 0x1;

/** What node:http2's request() throws when the session, not the request, is at fault. */
const SESSION_UNUSABLE = new Set(['ERR_HTTP2_INVALID_SESSION', 'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_OUT_OF_STREAMS']);

/** One request multiplexed on an upstream HTTP/2 connection. */
class H2UpstreamRequest implements UpstreamRequest {
  readonly reused: boolean;
  private stream: http2.ClientHttp2Stream | undefined;
  private trailers: string[] | undefined;
  private started = false;
  private finished = false;
  /** The request body is still being sent. */
  private requestOpen = false;
  /** node:http2 refused to send a HEADERS frame of this stream (the head, or the request's trailers). */
  private headersNotSent = false;
  /** The request is a HEAD: a response that ends with its headers says nothing of the body's length. */
  private headRequest = false;
  /** The request's method: whether it may go again after its reused connection died. */
  private method = '';
  /** The request has a body: DATA of it may be in flight, to earn connection window back. */
  hasBody = false;

  constructor(
    private readonly session: H2Session,
    private readonly conn: H2Connection,
    private readonly exchange: UpstreamExchange,
    reused: boolean,
  ) {
    this.reused = reused;
  }

  get localEndpoint(): string | undefined {
    return this.conn.localEndpoint;
  }

  sendHead(method: string, path: string, authority: string, scheme: string, headers: string[], framing: BodyFraming): void {
    this.headRequest = method === 'HEAD';
    this.method = method;
    this.hasBody = !framing.endStream;
    const out: http2.OutgoingHttpHeaders = { ':method': method, ':path': path, ':authority': authority, ':scheme': scheme };
    addH2Headers(out, headers);
    if (framing.contentLength > 0) out['content-length'] = framing.contentLength;
    let s: http2.ClientHttp2Stream;
    try {
      // A body may end with trailers, known only at its end: node then waits for sendEnd to say.
      s = this.conn.client.request(out, { endStream: framing.endStream, waitForTrailers: !framing.endStream });
    } catch (err) {
      this.finished = true;
      const code = (err as NodeJS.ErrnoException).code;
      // Nothing was sent. A session going away: the request can go on another connection.
      if (code !== undefined && SESSION_UNUSABLE.has(code)) this.exchange.onUpstreamReset(ResetReason.ConnectionTermination, false, true);
      // Anything else is node refusing the header block itself: no connection would take it.
      else {
        this.exchange.onRequestNotEncodable(code ?? (err as Error).message);
        this.session.release(this.conn);
      }
      return;
    }
    this.stream = s;
    this.conn.open.add(this);
    this.requestOpen = !framing.endStream;
    s.on('response', (h: http2.IncomingHttpHeaders, flags: number) => this.onResponse(h, flags));
    // node:http2 emits interim (1xx) heads as 'headers', before 'response'.
    s.on('headers', (h: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => this.onInterim(h, raw));
    s.on('trailers', (t: http2.IncomingHttpHeaders) => {
      const list: string[] = [];
      for (const [k, v] of Object.entries(t)) if (v !== undefined && k.charCodeAt(0) !== 0x3a) list.push(k, String(v));
      this.trailers = list;
    });
    s.on('end', () => this.onEnd());
    s.on('drain', () => this.exchange.onUpstreamDrain());
    s.on('error', () => undefined);
    // Too large is about this block; any other failure to send it (a session going away) is not.
    s.on('frameError', (type: number, code: number) => {
      if (type === HEADERS_FRAME && code === NGHTTP2_FRAME_SIZE_ERROR) this.headersNotSent = true;
    });
    s.on('close', () => this.onClose());
  }

  private onInterim(h: http2.IncomingHttpHeaders, raw: string[]): void {
    const status = Number(h[':status']);
    if (this.finished || this.started || !(status >= 100 && status < 200)) return;
    // From the raw list: a repeated field (several Link lines) stays several fields.
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.charCodeAt(0) !== 0x3a) headers.push(raw[i]!, raw[i + 1]!);
    this.exchange.onInterimResponse(status, headers);
  }

  private onResponse(h: http2.IncomingHttpHeaders, flags: number): void {
    const status = Number(h[':status']);
    if (status >= 100 && status < 200) return;
    this.started = true;
    // Only now: node emits 'response' on the next tick, and DATA parsed in the same read as the
    // HEADERS can be pushed before it (a read nested in a JavaScript call, as TLS makes them). Until
    // a 'data' listener makes the stream flow, that body waits in its buffer instead of reaching the
    // exchange before its head, where it was dropped.
    this.stream!.on('data', (chunk: Buffer) => {
      if (!this.finished) this.exchange.onResponseBody(chunk);
    });
    const headers: string[] = [];
    for (const [k, v] of Object.entries(h)) {
      if (k.charCodeAt(0) === 0x3a || v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) headers.push(k, item);
      else headers.push(k, String(v));
    }
    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    const cl = h['content-length'];
    const head: H1Head = {
      method: '',
      target: '',
      statusCode: status,
      statusText: '',
      versionMinor: 1,
      headers,
      // A HEADERS frame that ends the stream (gRPC trailers-only) is a response of length 0, unless it
      // says otherwise: a HEAD's Content-Length is the GET's (nghttp2 holds any other body to it), and
      // a HEAD's answer without one has a body of unknown length, not an empty one.
      contentLength: typeof cl === 'string' && /^\d+$/.test(cl) ? Number(cl) : endStream && !this.headRequest ? 0 : -1,
      chunked: false,
      connectionClose: false,
      upgrade: false,
      bodyUntilClose: false,
    };
    this.exchange.onResponseHead(head);
  }

  private onEnd(): void {
    if (this.finished || !this.started) return;
    // node ends the readable side of a stream it closes itself (its connection died, CANCEL) as if
    // the upstream had ended it: without END_STREAM from the upstream (no trailers, a reset code)
    // the response was cut short, and the client must see a reset, not a complete response.
    if (this.trailers === undefined && this.stream !== undefined && this.stream.rstCode !== NGHTTP2_NO_ERROR) {
      this.onClose();
      return;
    }
    this.finished = true;
    this.releaseStream();
    this.exchange.onResponseComplete(this.trailers);
    // A complete response before the whole request (RFC 9113 §8.1): the rest of the body will not
    // be sent. Reset our side, as Envoy does, rather than end it: an upstream that goes on reading
    // must not take the part it got for the whole request.
    if (this.requestOpen && this.stream !== undefined) resetStream(this.stream, NGHTTP2_CANCEL);
  }

  private onClose(): void {
    // Body bytes still queued when the stream closed are never sent (see STRANDED_BODY_LIMIT).
    const stranded = this.stream?.bufferSize ?? 0;
    if (stranded > 0) this.session.strand(this.conn, stranded);
    if (this.finished) return;
    this.finished = true;
    this.releaseStream();
    // node:http2 would not send our header block (larger than its maxSendHeaderBlockLength) and
    // closed the stream as REFUSED_STREAM: the upstream never saw it, and no retry would fare better.
    if (this.headersNotSent && !this.started) {
      this.exchange.onRequestNotEncodable('header block too large to send');
      return;
    }
    const code = this.stream?.rstCode ?? 0;
    // REFUSED_STREAM (also what a GOAWAY means for streams past its last id) promises the upstream
    // did no work on the request (RFC 9113 §8.7).
    const refused = code === NGHTTP2_REFUSED_STREAM;
    // Past the last id of a GOAWAY that let earlier streams through: the connection's request limit.
    const goawayLast = this.conn.goawayLastStreamId;
    const connectionLimit = refused && goawayLast > 0 && (this.stream?.id ?? Infinity) > goawayLast;
    // Any other RST_STREAM on a live connection means the peer saw the stream: it is the answer, not
    // a stale connection, and replaying it could repeat work. A reused connection that died may be
    // stale, but the upstream may have read the request: only an idempotent one goes again.
    const connectionGone = this.conn.client.destroyed;
    const peerReset = code !== 0 && !connectionGone;
    // A connection that died takes its streams with it (node closes them with CANCEL itself): that
    // is Envoy's connection termination (UC), not a reset the upstream chose (UR).
    const reason = connectionGone ? ResetReason.ConnectionTermination : refused ? ResetReason.RemoteRefusedStreamReset : ResetReason.RemoteReset;
    this.exchange.onUpstreamReset(reason, this.started, refused || (this.reused && !peerReset && isIdempotent(this.method)), connectionLimit);
  }

  sendBody(chunk: Buffer): boolean {
    return this.stream && !this.stream.destroyed && !wasReset(this.stream) ? this.stream.write(chunk) : true;
  }

  sendEnd(trailers: string[] | undefined): void {
    this.requestOpen = false;
    const s = this.stream;
    if (!s || s.destroyed || wasReset(s)) return;
    // Empty trailers end the stream with an empty DATA frame.
    const t: http2.OutgoingHttpHeaders = {};
    // A chunked HTTP/1.1 request may carry connection-specific fields in its trailers: HTTP/2 forbids
    // them (node throws on them), and like the same fields in a head they are the hop's, not the request's.
    if (trailers) for (let i = 0; i < trailers.length; i += 2) if (!isHopByHop(trailers[i]!, undefined)) t[trailers[i]!] = trailers[i + 1]!;
    s.once('wantTrailers', () => {
      try {
        s.sendTrailers(t);
      } catch {
        // Never thrown out of node's stream callback (that ends the process): the request goes no further.
        resetStream(s, NGHTTP2_CANCEL);
      }
    });
    s.end();
  }

  /**
   * The connection's socket is closing. A response whose end node has received (the stream closed
   * without error) may still sit in the stream's buffer, paused for a slow client, and node destroys
   * the stream with its socket, dropping it: it is read out now (each read emits 'data'), within
   * what flow control let the upstream send.
   */
  salvageEnded(): void {
    const s = this.stream;
    if (this.finished || !this.started || s === undefined || !s.closed || s.rstCode !== 0) return;
    while (s.read() !== null);
    this.onEnd();
  }

  /** Gives the stream's place on the connection back, to the next request that waits for one. */
  private releaseStream(): void {
    // Marked before that request starts: its body must not go where the peer may have kept the window.
    if (this.requestOpen || (this.stream?.bufferSize ?? 0) > 0) this.conn.bodyCutShort = true;
    this.conn.open.delete(this);
    this.session.release(this.conn);
  }

  pauseResponse(): void {
    this.stream?.pause();
  }

  resumeResponse(): void {
    this.stream?.resume();
  }

  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    this.releaseStream();
    // A reset, not an end: the upstream must not read a cut-short request body as complete.
    if (this.stream) resetStream(this.stream, NGHTTP2_CANCEL);
  }
}

/** One multiplexed HTTP/2 connection to an upstream host, reconnected on demand. */
/** One HTTP/2 connection to the host and the streams open on it. */
class H2Connection {
  connected = false;
  /** Streams open on this connection. */
  active = 0;
  /** A stream has been opened on it before (a stream that fails first on a reused connection may go again). */
  used = false;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  peerLimit = Infinity;
  /** Requests with a stream open on this connection. */
  readonly open = new Set<H2UpstreamRequest>();
  /** Request body bytes left unsent in streams that closed on this connection. */
  strandedBytes = 0;
  /**
   * A stream closed before its whole request body was sent: the peer may have discarded DATA of it
   * without returning the window, so a request body checks the send window before it starts here.
   */
  bodyCutShort = false;
  /** The last stream id of the peer's GOAWAY (streams after it were refused), or 0 before one. */
  goawayLastStreamId = 0;
  /** Why TLS failed, when the connection died in its handshake (for the requests that waited on it). */
  transportFailureReason: string | undefined;
  /** The code of the first error the connection met (ECONNREFUSED, CONNECT_TIMEOUT), for requests that waited on it. */
  connectError: string | undefined;
  private local: string | undefined;

  constructor(readonly client: http2.ClientHttp2Session) {}

  /** Read once per connection (a getsockname call), while the socket is open. */
  get localEndpoint(): string | undefined {
    const socket = this.client.socket;
    return (this.local ??= socket === undefined ? undefined : endpointText(socket.localAddress, socket.localPort));
  }

  /** Takes new streams: connected, and neither closing nor told to go away (node closes a session on GOAWAY). */
  get usable(): boolean {
    return this.connected && !this.client.closed && !this.client.destroyed;
  }

  get connecting(): boolean {
    return !this.connected && !this.client.closed && !this.client.destroyed;
  }

  /**
   * Whether a request body of `contentLength` (0: none) would wait here for window the peer keeps: a
   * stream here closed before its whole body was sent, the send window cannot take the body's first
   * DATA frame, and no open stream has a body whose DATA could be earning it back (a peer that is
   * slow to read holds window too, but it is reading some stream's body). Only a connection that cut
   * a body short pays for the look: a native call, then a walk over its streams.
   */
  sendWindowLost(contentLength: number): boolean {
    if (contentLength === 0 || !this.bodyCutShort || !sendWindowStarved(this.client, contentLength)) return false;
    for (const request of this.open) if (request.hasBody) return false;
    return true;
  }
}

/**
 * The HTTP/2 connections to one upstream host. Streams go to a connection with room under both the
 * cluster's http2ProtocolOptions.maxConcurrentStreams and the peer's own limit; when every connection
 * is full, or going away after a GOAWAY, another is opened, as Envoy's pool does, within the cluster's
 * maxConnections breaker (a host with no usable connection may always open one). Requests wait
 * meanwhile, counted as the cluster's pending requests.
 */
export class H2Session {
  private readonly connections: H2Connection[] = [];
  private readonly waiting: UpstreamExchange[] = [];

  constructor(
    readonly address: string,
    readonly port: number,
    /** Replaced when a reload brings new certificates (rotation): new connections use the new one. */
    public connector: TransportConnector,
    private readonly connectTimeout: number,
    private readonly maxPending: number,
    private readonly stats: PoolStats,
    /** The cluster's http2ProtocolOptions.maxConcurrentStreams, per connection. */
    private readonly maxStreams = Infinity,
    /** The cluster's maxConnections breaker, counted across its hosts (stats is the cluster's). */
    private readonly maxConnections = Infinity,
    /** Told +1 when a connection opens and -1 when it closes (the host's connection counters). */
    private readonly onCountChange?: (delta: number) => void,
  ) {}

  /** Starts a request now, or once a connection has room; false when too many wait already. */
  acquire(exchange: UpstreamExchange): boolean {
    let conn = this.withRoom();
    // A body would wait for its timeout where the window is gone: that connection is retired (its open
    // streams finish), and with no usable connection left the host may open one even at maxConnections.
    while (conn !== undefined && conn.sendWindowLost(exchange.requestContentLength)) {
      conn.client.close();
      conn = this.withRoom();
    }
    if (conn !== undefined) {
      this.start(conn, exchange);
      return true;
    }
    // Pending requests are counted across the cluster, as Envoy's maxPendingRequests breaker counts them.
    if (this.stats.pendingAcrossWorkers() >= this.maxPending) {
      this.stats.pendingOverflow++;
      return false;
    }
    this.waiting.push(exchange);
    this.stats.pending++;
    this.growIfNeeded();
    return true;
  }

  /** Withdraws a waiting request (it timed out or its client went away): it no longer counts as pending. */
  cancel(exchange: UpstreamExchange): void {
    const i = this.waiting.indexOf(exchange);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      this.stats.pending--;
    }
  }

  /** A stream on `conn` ended. */
  release(conn: H2Connection): void {
    conn.active--;
    this.serve(conn);
  }

  /**
   * A stream on `conn` closed with `bytes` of its request body never sent. node:http2 counts them
   * against the session's memory for good: past STRANDED_BODY_LIMIT the connection is retired
   * (its open streams finish, new ones go to another connection) before node refuses its responses.
   */
  strand(conn: H2Connection, bytes: number): void {
    conn.strandedBytes += bytes;
    if (conn.strandedBytes < STRANDED_BODY_LIMIT || conn.client.closed || conn.client.destroyed) return;
    conn.client.close();
    this.growIfNeeded();
  }

  /** Connections open or opening (for tests and metrics). */
  get connectionCount(): number {
    return this.connections.length;
  }

  private limit(conn: H2Connection): number {
    return Math.min(this.maxStreams, conn.peerLimit);
  }

  private withRoom(): H2Connection | undefined {
    const list = this.connections;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (c.usable && c.active < this.limit(c)) return c;
    }
    return undefined;
  }

  /** Gives waiting requests the room `conn` has. */
  private serve(conn: H2Connection): void {
    while (this.waiting.length > 0 && conn.usable && conn.active < this.limit(conn)) {
      if (conn.sendWindowLost(this.waiting[0]!.requestContentLength)) {
        // Retired as in acquire(); the requests still waiting go to the next connection.
        conn.client.close();
        this.growIfNeeded();
        return;
      }
      this.start(conn, this.takeWaiting());
    }
  }

  /** Opens a connection for waiting requests unless one is already on its way, within maxConnections. */
  private growIfNeeded(): void {
    if (this.waiting.length === 0) return;
    let usable = false;
    for (const c of this.connections) {
      if (c.connecting) return;
      if (c.usable) usable = true;
    }
    if (mayOpenConnection(this.stats, this.maxConnections, usable)) this.connect();
    else this.stats.connectionOverflow++;
  }

  private takeWaiting(): UpstreamExchange {
    this.stats.pending--;
    return this.waiting.shift()!;
  }

  private start(conn: H2Connection, exchange: UpstreamExchange): void {
    conn.active++;
    const reused = conn.used;
    conn.used = true;
    exchange.onUpstreamReady(new H2UpstreamRequest(this, conn, exchange, reused));
  }

  private connect(): void {
    this.stats.connectionsTotal++;
    this.stats.connectionsActive++;
    this.onCountChange?.(1);
    const authority = `http://${this.address.includes(':') ? `[${this.address}]` : this.address}:${this.port}`;
    const client = http2.connect(authority, {
      createConnection: () => {
        const socket = this.connector.connect(this.address, this.port) as Socket;
        // Before node's own listener, which destroys the streams: an upstream may close right after its last stream.
        socket.prependListener('close', () => {
          for (const request of conn.open) request.salvageEnded();
        });
        return socket;
      },
      settings: { enablePush: false },
    });
    const conn = new H2Connection(client);
    this.connections.push(conn);
    const timer = setTimeout(() => client.destroy(Object.assign(new Error('connect timeout'), { code: CONNECT_TIMEOUT })), this.connectTimeout);
    client.once('connect', () => {
      clearTimeout(timer);
      conn.connected = true;
      this.serve(conn);
      this.growIfNeeded();
    });
    client.on('remoteSettings', (settings: http2.Settings) => {
      conn.peerLimit = settings.maxConcurrentStreams ?? Infinity;
      this.serve(conn);
    });
    // A GOAWAY closes the session to new streams: waiting requests need another connection.
    client.on('goaway', (_code: number, lastStreamId: number) => {
      conn.goawayLastStreamId = lastStreamId;
      this.growIfNeeded();
    });
    client.on('error', (err) => {
      conn.transportFailureReason ??= upstreamTransportFailureReason(err);
      conn.connectError ??= (err as NodeJS.ErrnoException).code;
    });
    client.once('close', () => {
      clearTimeout(timer);
      this.stats.connectionsActive--;
      this.onCountChange?.(-1);
      if (!conn.connected) this.stats.connectFailures++;
      const i = this.connections.indexOf(conn);
      if (i >= 0) this.connections.splice(i, 1);
      // Another connection on its way, or with room, serves those waiting (after a GOAWAY one was opened).
      if (this.waiting.length === 0 || this.connections.some((c) => c.usable || c.connecting)) return;
      const waiting = this.waiting.splice(0);
      this.stats.pending -= waiting.length;
      for (const ex of waiting) {
        // Never sent: after a connection that worked they go again (bounded by the stream's attempts);
        // a host that did not answer is a connect failure, for the retry policy to judge.
        if (conn.connected) ex.onUpstreamReset(ResetReason.ConnectionTermination, false, true);
        else ex.onUpstreamConnectFailure(conn.connectError ?? 'connect failed', conn.transportFailureReason);
      }
    });
    client.unref();
  }

  close(): void {
    for (const c of this.connections) c.client.close();
  }
}
