import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { H1Head } from './h1-parser.js';
import type { UpstreamExchange } from './h1-upstream-connection.js';
import type { PoolStats, TransportConnector } from './h1-connection-pool.js';
import type { BodyFraming, UpstreamRequest } from './upstream-request.js';
import { resetStream } from './h2-reset.js';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** One request multiplexed on an upstream HTTP/2 connection. */
class H2UpstreamRequest implements UpstreamRequest {
  readonly reused: boolean;
  private stream: http2.ClientHttp2Stream | undefined;
  private trailers: string[] | undefined;
  private started = false;
  private finished = false;
  /** The request body is still being sent. */
  private requestOpen = false;

  constructor(
    private readonly session: H2Session,
    private readonly exchange: UpstreamExchange,
    reused: boolean,
  ) {
    this.reused = reused;
  }

  sendHead(method: string, path: string, authority: string, scheme: string, headers: string[], framing: BodyFraming): void {
    const out: http2.OutgoingHttpHeaders = { ':method': method, ':path': path, ':authority': authority, ':scheme': scheme };
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const prev = out[name];
      if (prev === undefined) out[name] = headers[i + 1]!;
      else if (Array.isArray(prev)) prev.push(headers[i + 1]!);
      else out[name] = [String(prev), headers[i + 1]!];
    }
    if (framing.contentLength > 0) out['content-length'] = framing.contentLength;
    let s: http2.ClientHttp2Stream;
    try {
      s = this.session.client!.request(out, { endStream: framing.endStream });
    } catch (err) {
      this.finished = true;
      // Nothing was sent (the session is going away): the request can go on another connection.
      this.exchange.onUpstreamReset((err as Error).message, false, true);
      return;
    }
    this.stream = s;
    this.requestOpen = !framing.endStream;
    s.on('response', (h: http2.IncomingHttpHeaders, flags: number) => this.onResponse(h, flags));
    s.on('data', (chunk: Buffer) => {
      if (!this.finished) this.exchange.onResponseBody(chunk);
    });
    s.on('trailers', (t: http2.IncomingHttpHeaders) => {
      const list: string[] = [];
      for (const [k, v] of Object.entries(t)) if (v !== undefined && k.charCodeAt(0) !== 0x3a) list.push(k, String(v));
      this.trailers = list;
    });
    s.on('end', () => this.onEnd());
    s.on('drain', () => this.exchange.onUpstreamDrain());
    s.on('error', () => undefined);
    s.on('close', () => this.onClose());
  }

  private onResponse(h: http2.IncomingHttpHeaders, flags: number): void {
    const status = Number(h[':status']);
    if (status >= 100 && status < 200) return;
    this.started = true;
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
      // A HEADERS frame that ends the stream (gRPC trailers-only) is a response of length 0.
      contentLength: endStream ? 0 : typeof cl === 'string' && /^\d+$/.test(cl) ? Number(cl) : -1,
      chunked: false,
      connectionClose: false,
      upgrade: false,
      bodyUntilClose: false,
    };
    this.exchange.onResponseHead(head);
  }

  private onEnd(): void {
    if (this.finished || !this.started) return;
    this.finished = true;
    this.session.release();
    this.exchange.onResponseComplete(this.trailers);
    // A complete response before the whole request (RFC 9113 §8.1): the rest of the body will not
    // be sent. Reset our side, as Envoy does, rather than end it: an upstream that goes on reading
    // must not take the part it got for the whole request.
    if (this.requestOpen && this.stream !== undefined) resetStream(this.stream, NGHTTP2_CANCEL);
  }

  private onClose(): void {
    if (this.finished) return;
    this.finished = true;
    this.session.release();
    const code = this.stream?.rstCode ?? 0;
    // REFUSED_STREAM (also what a GOAWAY means for streams past its last id) promises the upstream
    // did no work on the request (RFC 9113 §8.7).
    const refused = code === NGHTTP2_REFUSED_STREAM;
    this.exchange.onUpstreamReset(code ? `stream reset (code ${code})` : 'stream closed', this.started, refused || this.reused);
  }

  sendBody(chunk: Buffer): boolean {
    return this.stream && !this.stream.destroyed ? this.stream.write(chunk) : true;
  }

  sendEnd(trailers: string[] | undefined): void {
    this.requestOpen = false;
    const s = this.stream;
    if (!s || s.destroyed) return;
    if (trailers && trailers.length > 0) {
      const t: http2.OutgoingHttpHeaders = {};
      for (let i = 0; i < trailers.length; i += 2) t[trailers[i]!] = trailers[i + 1]!;
      s.once('wantTrailers', () => s.sendTrailers(t));
    }
    s.end();
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
    this.session.release();
    // A reset, not an end: the upstream must not read a cut-short request body as complete.
    if (this.stream) resetStream(this.stream, NGHTTP2_CANCEL);
  }
}

/** One multiplexed HTTP/2 connection to an upstream host, reconnected on demand. */
export class H2Session {
  client: http2.ClientHttp2Session | undefined;
  private connected = false;
  private waiting: UpstreamExchange[] = [];
  private active = 0;
  private used = false;

  constructor(
    readonly address: string,
    readonly port: number,
    private readonly connector: TransportConnector,
    private readonly connectTimeout: number,
    private readonly maxPending: number,
    private readonly stats: PoolStats,
    /** The cluster's http2ProtocolOptions.maxConcurrentStreams: streams past it wait for one to end. */
    private readonly maxStreams = Infinity,
  ) {}

  /** Starts a request now, or once connected or a stream is free; false when too many wait already. */
  acquire(exchange: UpstreamExchange): boolean {
    const usable = this.client !== undefined && this.connected && !this.client.closed && !this.client.destroyed;
    if (usable && this.active < this.maxStreams) {
      this.start(exchange);
      return true;
    }
    // Pending requests are counted across the cluster, as Envoy's maxPendingRequests breaker counts them.
    if (this.stats.pending >= this.maxPending) {
      this.stats.pendingOverflow++;
      return false;
    }
    this.waiting.push(exchange);
    this.stats.pending++;
    if (!usable && (!this.client || this.client.closed || this.client.destroyed)) this.connect();
    return true;
  }

  release(): void {
    this.active--;
    // A freed stream goes to the longest waiter (only waiters held back by maxStreams are here while connected).
    if (this.connected && this.waiting.length > 0 && this.active < this.maxStreams) this.start(this.takeWaiting());
  }

  private takeWaiting(): UpstreamExchange {
    this.stats.pending--;
    return this.waiting.shift()!;
  }

  private start(exchange: UpstreamExchange): void {
    this.active++;
    const reused = this.used;
    this.used = true;
    exchange.onUpstreamReady(new H2UpstreamRequest(this, exchange, reused));
  }

  private connect(): void {
    this.connected = false;
    this.used = false;
    this.stats.connectionsTotal++;
    const authority = `http://${this.address.includes(':') ? `[${this.address}]` : this.address}:${this.port}`;
    const client = http2.connect(authority, {
      createConnection: () => this.connector.connect(this.address, this.port) as Socket,
      settings: { enablePush: false },
    });
    this.client = client;
    // State of this session only: after a GOAWAY a newer session takes over while this one drains,
    // and this one's events must not touch the newer one's state or waiting list.
    let connected = false;
    const timer = setTimeout(() => client.destroy(new Error('connect timeout')), this.connectTimeout);
    client.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      this.stats.connectionsActive++;
      if (this.client !== client) return;
      this.connected = true;
      while (this.waiting.length > 0 && this.active < this.maxStreams) this.start(this.takeWaiting());
    });
    client.on('error', () => undefined);
    client.once('close', () => {
      clearTimeout(timer);
      if (connected) this.stats.connectionsActive--;
      else this.stats.connectFailures++;
      if (this.client !== client) return;
      this.client = undefined;
      this.connected = false;
      const waiting = this.waiting.splice(0);
      this.stats.pending -= waiting.length;
      for (const ex of waiting) {
        // These were waiting for the session and never sent.
        if (connected) ex.onUpstreamReset('connection closed', false, true);
        else ex.onUpstreamConnectFailure('connect failed');
      }
    });
    client.unref();
  }

  close(): void {
    this.client?.close();
  }
}
