import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { DownstreamResponder } from './downstream-responder.js';
import type { HttpListenerContext } from './http-listener-context.js';
import { deadlineSweeper, type DeadlineHolder } from './deadline-sweeper.js';
import { addH2Headers } from './h2-header-object.js';
import { HttpStream } from './http-stream.js';
import { PrematureResetGuard } from './premature-resets.js';
import { H2SessionIdle } from './h2-session-idle.js';
import { resetStream, wasReset } from './h2-reset.js';
import { connectionEndpoints, type ConnectionEndpoints } from '../connection-endpoints.js';
import { sendFaultCodesOnDestroy } from './h2-goaway-codes.js';
import { closeWhenDone } from './h2-close-when-done.js';
import type { RequestHead } from './request-head.js';
// The module binding: the global `performance` is a lazy getter.
import { performance } from 'node:perf_hooks';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR } = http2.constants;
const REQUEST_TARGET = /^[\x21-\x7e]+$/;

/** One HTTP/2 connection's standing facts. */
interface SessionState {
  guard: PrematureResetGuard;
  /** The client's SPIFFE ID from its certificate, '' without mTLS. */
  principal: string;
  remoteAddress: string;
  tls: TLSSocket | undefined;
  endpoints: ConnectionEndpoints;
  /** Streams opened so far, and as many at the last keepalive sweep: equal means the session was idle. */
  streams: number;
  streamsAtSweep: number;
  /** Sweeps since an unanswered PING went out; -1 when none is outstanding. */
  sweepsSincePing: number;
  /** The connection idle timeout (none when it is 0). */
  idle: H2SessionIdle | undefined;
  /** Its drain began (the first GOAWAY went out): its timer, not nghttp2's end of reading, closes it. */
  draining: boolean;
}

/**
 * Writes one HttpStream's response onto an HTTP/2 stream, and keeps its stream idle timeout
 * (Envoy's stream_idle_timeout): the deadline sweeper checks it, and any byte in either direction
 * since the last check counts as activity.
 */
class H2Responder implements DownstreamResponder, DeadlineHolder {
  readonly protocol = 'HTTP/2' as const;
  stream: HttpStream | undefined;
  private trailers: string[] | undefined;
  private wantsTrailers = false;
  deadline = 0;
  listSlot = -1;
  /** Bytes moved since the idle deadline was last set. */
  active = false;
  private idleMs = 0;
  /** The stream idle timeout fired: a reset then says CANCEL. */
  private idleExpired = false;
  /** A response head held until the upstream read that carried it is handled (sendHead's holdUntilFlush). */
  private heldHeaders: string[] | undefined;
  private heldStatus = 0;
  private heldLength = 0;

  constructor(readonly h2: http2.ServerHttp2Stream) {}

  setStreamIdleTimeout(ms: number): void {
    this.unwatchIdle();
    this.watchIdle(ms);
  }

  watchIdle(ms: number): void {
    if (ms <= 0) return;
    this.idleMs = ms;
    this.deadline = performance.now() + ms;
    deadlineSweeper.add(this);
  }

  unwatchIdle(): void {
    this.deadline = 0;
    deadlineSweeper.remove(this);
  }

  onDeadline(): void {
    const stream = this.stream;
    if (stream === undefined || stream.done || this.h2.destroyed) {
      this.unwatchIdle();
      return;
    }
    if (this.active) {
      // A silent stream is cut between one and two periods after its last byte.
      this.active = false;
      this.deadline = performance.now() + this.idleMs;
      return;
    }
    this.unwatchIdle();
    // A 408 when no response has started, else a reset: CANCEL, as the stream was given up on, not broken.
    this.idleExpired = true;
    stream.streamIdleTimeout();
  }

  sendInterim(status: number, headers: string[]): boolean {
    if (this.h2.destroyed || this.h2.headersSent || wasReset(this.h2)) return false;
    const out: http2.OutgoingHttpHeaders = { ':status': status };
    addH2Headers(out, headers);
    try {
      this.h2.additionalHeaders(out);
    } catch {
      // A field node:http2 will not encode: the final response can still go.
      return false;
    }
    this.active = true;
    return true;
  }

  flushHead(): void {
    const headers = this.heldHeaders;
    if (headers === undefined) return;
    this.heldHeaders = undefined;
    this.sendHead(this.heldStatus, headers, this.heldLength, false);
  }

  withdrawHeldHead(): boolean {
    if (this.heldHeaders === undefined) return false;
    this.heldHeaders = undefined;
    return true;
  }

  sendHead(status: number, headers: string[], contentLength: number, endStream: boolean, holdUntilFlush = false): void {
    if (this.h2.destroyed || this.h2.headersSent || wasReset(this.h2)) return;
    if (holdUntilFlush && !endStream) {
      // Kept until the upstream read that carried it is handled: a fault later in that read leaves
      // the client nothing of this response, and it gets the proxy's answer instead.
      this.heldHeaders = headers;
      this.heldStatus = status;
      this.heldLength = contentLength;
      return;
    }
    const out: http2.OutgoingHttpHeaders = { ':status': status };
    addH2Headers(out, headers);
    // A response without a body still says its length when it has one: a HEAD's is the GET's (RFC 9110 §9.3.2).
    if (contentLength > 0 || (contentLength === 0 && !endStream)) out['content-length'] = contentLength;
    // Trailers (gRPC status) can only follow when the upstream may send them: an HTTP/2 upstream, or an
    // HTTP/1.1 one's chunked answer to a gRPC call, whose status comes in the last chunk's trailers.
    this.wantsTrailers = !endStream && (this.stream?.cluster?.http2 === true || (contentLength < 0 && this.stream?.isGrpc === true));
    try {
      this.h2.respond(out, { endStream, waitForTrailers: this.wantsTrailers });
    } catch {
      this.h2.close(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    if (endStream) this.stopRequestBody();
  }

  sendBody(chunk: Buffer): boolean {
    this.active = true;
    if (this.heldHeaders !== undefined) this.flushHead();
    if (this.h2.destroyed || wasReset(this.h2)) return true;
    return this.h2.write(chunk);
  }

  sendEnd(trailers: string[] | undefined): void {
    if (this.heldHeaders !== undefined) this.flushHead();
    if (this.h2.destroyed || wasReset(this.h2)) return;
    this.trailers = trailers;
    if (this.wantsTrailers) this.h2.once('wantTrailers', () => this.writeTrailers());
    this.h2.end();
    if (!this.wantsTrailers) this.stopRequestBody();
  }

  /**
   * The response is complete while the request body is still coming: RST_STREAM NO_ERROR once the
   * response has left (RFC 9113 §8.1, as Envoy does). Nobody reads that body any more, and a client
   * facing a shut flow-control window would otherwise wait for ever to finish its upload.
   */
  private stopRequestBody(): void {
    if (this.stream !== undefined && !this.stream.requestComplete && !this.h2.closed && !wasReset(this.h2)) this.h2.close(NGHTTP2_NO_ERROR);
  }

  private writeTrailers(): void {
    const t: http2.OutgoingHttpHeaders = {};
    const list = this.trailers ?? [];
    for (let i = 0; i < list.length; i += 2) t[list[i]!] = list[i + 1]!;
    try {
      this.h2.sendTrailers(t);
    } catch {
      this.h2.close();
      return;
    }
    // node submits trailers from a setImmediate of its own: a reset submitted now would go first and
    // nghttp2 would drop them, END_STREAM included. An immediate queued now runs after node's.
    if (this.stream !== undefined && !this.stream.requestComplete) setImmediate(() => this.stopRequestBody());
  }

  abort(): void {
    // A reset, not an end: the client must not read a cut-short response as complete.
    resetStream(this.h2, this.idleExpired ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
  }

  notifyDrain(stream: HttpStream): void {
    this.h2.once('drain', () => {
      this.active = true;
      stream.onDownstreamDrain();
    });
  }

  startTunnel(): void {
    this.abort();
  }

  pauseRequestBody(): void {
    this.h2.pause();
  }

  resumeRequestBody(): void {
    this.h2.resume();
  }
}

/**
 * Serves HTTP/2 (h2c prior knowledge, or h2 negotiated by ALPN) on sockets the listener hands over.
 * nghttp2 (through node:http2) does the framing; each stream becomes an HttpStream.
 */
export class H2DownstreamServer {
  private readonly server: http2.Http2Server;
  /** Open sessions, each with its rapid-reset guard and the connection facts every stream needs. */
  private readonly sessions = new Map<http2.Http2Session, SessionState>();
  private keepaliveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: () => HttpListenerContext,
    private readonly scheme: 'http' | 'https',
    private readonly peerPrincipalOf: (socket: Socket) => string,
  ) {
    const hcm = ctx().hcm;
    this.server = http2.createServer({
      maxSessionMemory: 64,
      // The request head limit (maxRequestHeadersKb) holds for HTTP/2 too, as the decoded header list size.
      settings: { maxConcurrentStreams: hcm.http2ProtocolOptions.maxConcurrentStreams, enablePush: false, maxHeaderListSize: hcm.maxRequestHeadersKb * 1024 },
      maxHeaderListPairs: hcm.commonHttpProtocolOptions.maxHeadersCount + 8,
      maxSendHeaderBlockLength: 256 * 1024,
    });
    this.server.on('session', (session) => this.onSession(session));
    this.server.setTimeout(0);
  }

  /** Takes a socket whose first bytes (already read) are the HTTP/2 preface, or a TLS socket that chose h2. */
  accept(socket: Socket, initial: Buffer | undefined): void {
    if (initial && initial.length > 0) socket.unshift(initial);
    this.server.emit('connection', socket);
  }

  private onSession(session: http2.ServerHttp2Session): void {
    sendFaultCodesOnDestroy(session);
    // Read once per connection, not per stream (a peer certificate is parsed on every call).
    const socket = session.socket as Socket;
    const idleMs = this.ctx().hcm.commonHttpProtocolOptions.idleTimeout;
    const state: SessionState = {
      guard: new PrematureResetGuard(),
      principal: this.peerPrincipalOf(socket),
      remoteAddress: socket?.remoteAddress ?? '',
      tls: socket instanceof TLSSocket ? socket : undefined,
      endpoints: connectionEndpoints(socket, undefined, this.ctx().accessLogReads.downstreamTls),
      streams: 0,
      streamsAtSweep: 0,
      sweepsSincePing: -1,
      idle: idleMs > 0 ? new H2SessionIdle(session, idleMs) : undefined,
      draining: false,
    };
    closeWhenDone(session, () => state.draining);
    this.sessions.set(session, state);
    this.startKeepalive();
    const stats = this.ctx().stats;
    stats.downstreamConnections++;
    stats.downstreamConnectionsActive++;
    session.on('close', () => {
      stats.downstreamConnectionsActive--;
      state.idle?.stop();
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.stopKeepalive();
    });
    // Streams are taken from their session, not from the server's 'stream' event: a stream reset
    // before its event runs has already forgotten its session, and still counts against it.
    session.on('stream', (s: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, raw: string[]) =>
      this.onStream(session, state, s, headers, flags, raw),
    );
    session.on('error', () => session.destroy());
  }

  private onStream(session: http2.ServerHttp2Session, state: SessionState, h2: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, raw: string[]): void {
    // First: a stream closed with an error code emits 'error', and an unheard one would end the process.
    h2.on('error', () => undefined);
    state.streams++;
    const ctx = this.ctx();
    // The 'stream' event runs a tick after nghttp2 made the stream. A client that sent RST_STREAM
    // in the same read (a rapid-reset burst) has closed it by then, and a closed stream will not
    // emit 'close' again: it is counted as a reset here, and nobody is answered. A session sent
    // away in between has nothing left to count.
    if (session.destroyed) return;
    if (h2.destroyed || h2.closed) {
      this.onStreamClosed(session, state, true, 0, ctx);
      return;
    }
    ctx.stats.downstreamRequests++;
    // Health check failed or the listener draining (Envoy's drainClose): this stream is served, and GOAWAY asks for no more.
    if (!state.draining && ctx.drainClose()) this.drainSession(session, state, ctx.hcm.drainTimeout);
    // maxRequestsPerConnection: the stream that reaches it is served, and GOAWAY asks for a new connection.
    const maxRequests = ctx.hcm.commonHttpProtocolOptions.maxRequestsPerConnection;
    if (maxRequests > 0 && state.streams >= maxRequests && !session.closed) session.close();
    const method = headers[':method'];
    const path = headers[':path'];
    const authority = headers[':authority'] ?? headers.host;
    // The path must be one an HTTP/1.1 request line can carry (visible ASCII, as the H1 parser requires).
    if (typeof method !== 'string' || typeof path !== 'string' || typeof authority !== 'string' || method === 'CONNECT' || !REQUEST_TARGET.test(path)) {
      ctx.stats.protocolErrors++;
      h2.close(NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    const list: string[] = [];
    let cookie: string | undefined;
    let expectsContinue = false;
    // maxRequestHeadersKb, counted as HPACK counts a header list (RFC 7541 §4.1: 32 octets per field):
    // node:http2 advertises SETTINGS_MAX_HEADER_LIST_SIZE but does not hold a client to it.
    let headerBytes = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      headerBytes += name.length + raw[i + 1]!.length + 32;
      if (name.charCodeAt(0) === 0x3a || name === 'host') continue;
      if (name === 'expect' && raw[i + 1]!.toLowerCase() === '100-continue') {
        // Answered here, as on HTTP/1.1 and as Envoy does: the client waits for it before its body.
        expectsContinue = true;
        continue;
      }
      if (name === 'cookie') {
        // HTTP/2 may split Cookie into crumbs; they are one field again before any HTTP/1.1 hop (RFC 9113 §8.2.3).
        cookie = cookie === undefined ? raw[i + 1]! : `${cookie}; ${raw[i + 1]!}`;
        continue;
      }
      list.push(name, raw[i + 1]!);
    }
    if (headerBytes > ctx.hcm.maxRequestHeadersKb * 1024) {
      ctx.stats.protocolErrors++;
      this.refuse(h2, 431);
      return;
    }
    if (cookie !== undefined) list.push('cookie', cookie);
    const req: RequestHead = {
      method,
      path,
      authority: authority.toLowerCase(),
      scheme: this.scheme,
      headers: list,
      remoteAddress: state.remoteAddress,
      downstreamTls: state.tls,
      endpoints: state.endpoints,
    };
    const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    const cl = headers['content-length'];
    const length = endStream ? 0 : cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : -1;
    const responder = new H2Responder(h2);
    const stream = new HttpStream(ctx, req, responder, length, state.principal, undefined);
    responder.stream = stream;
    if (endStream) stream.requestComplete = true;
    else {
      if (expectsContinue) h2.additionalHeaders({ ':status': 100 });
      // Trailers can only follow a body: a request that ended with its HEADERS needs no listener.
      let trailers: string[] | undefined;
      h2.on('trailers', (t: http2.IncomingHttpHeaders) => {
        trailers = [];
        for (const [k, v] of Object.entries(t)) if (v !== undefined && k.charCodeAt(0) !== 0x3a) trailers.push(k, String(v));
      });
      h2.on('data', (chunk: Buffer) => {
        responder.active = true;
        stream.onRequestBody(chunk);
      });
      // node:http2 emits 'end' on a stream the client reset, too: that body is cut short, not complete.
      h2.on('end', () => {
        if (!h2.rstCode) stream.onRequestEnd(trailers);
      });
    }
    const opened = performance.now();
    responder.watchIdle(ctx.hcm.streamIdleTimeout);
    state.idle?.streamOpened();
    h2.on('close', () => {
      state.idle?.streamClosed();
      responder.unwatchIdle();
      const reset = !stream.done;
      if (reset) stream.onDownstreamReset();
      this.onStreamClosed(session, state, reset, performance.now() - opened, ctx);
    });
    stream.start();
  }

  /** Answers a request refused before it became a stream of the proxy (no route, no log line), and ends it. */
  private refuse(h2: http2.ServerHttp2Stream, status: number): void {
    try {
      h2.respond({ ':status': status }, { endStream: true });
    } catch {
      resetStream(h2, NGHTTP2_PROTOCOL_ERROR);
    }
  }

  /** Feeds the session's rapid-reset guard; a session that trips it is sent away with ENHANCE_YOUR_CALM. */
  private onStreamClosed(session: http2.ServerHttp2Session, state: SessionState, reset: boolean, livedMs: number, ctx: HttpListenerContext): void {
    if (state.guard.onStreamClosed(reset, livedMs) && !session.destroyed) {
      ctx.stats.protocolErrors++;
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
      // With the code: the final GOAWAY destroy() sends would otherwise say NO_ERROR.
      session.destroy(new Error('rapid reset: too many streams reset early'), NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }

  /**
   * Keepalive for idle sessions (see HttpConnectionManager.http2ProtocolOptions.connectionKeepalive):
   * one interval timer for all sessions. A session that opened no stream since the last sweep gets a
   * PING; one whose PING stays unanswered past the timeout is destroyed. Busy sessions cost nothing.
   */
  private startKeepalive(): void {
    if (this.keepaliveTimer !== undefined) return;
    const { interval } = this.ctx().hcm.http2ProtocolOptions.connectionKeepalive;
    if (interval <= 0) return;
    this.keepaliveTimer = setInterval(() => this.sweepKeepalive(), interval);
    this.keepaliveTimer.unref();
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer !== undefined) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private sweepKeepalive(): void {
    const { interval, timeout } = this.ctx().hcm.http2ProtocolOptions.connectionKeepalive;
    for (const [session, state] of this.sessions) {
      if (session.destroyed) continue;
      if (state.sweepsSincePing >= 0) {
        if (++state.sweepsSincePing * interval >= timeout) session.destroy();
        continue;
      }
      if (state.streams === state.streamsAtSweep) {
        try {
          state.sweepsSincePing = 0;
          session.ping((err) => {
            if (!err) state.sweepsSincePing = -1;
          });
        } catch {
          session.destroy();
        }
      }
      state.streamsAtSweep = state.streams;
    }
  }

  /**
   * Graceful drain in Envoy's two steps: a GOAWAY naming the highest possible stream id tells clients
   * to open no more streams while those already on the wire are still taken; after the connection
   * manager's drainTimeout the final GOAWAY names the last stream taken. In-flight streams finish.
   */
  drain(): void {
    const grace = this.ctx().hcm.drainTimeout;
    for (const [s, state] of this.sessions) this.drainSession(s, state, grace);
  }

  /** One session's graceful drain (see drain()); a session already draining is left to its timer. */
  private drainSession(session: http2.Http2Session, state: SessionState, grace: number): void {
    if (state.draining || session.closed || session.destroyed) return;
    state.draining = true;
    if (grace <= 0) {
      session.close();
      return;
    }
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, MAX_STREAM_ID);
    // Drain runs once per session: a closure here costs nothing on the data path.
    setTimeout(() => closeSession(session), grace).unref();
  }

  /**
   * The drain's second step now, for a process that stops before drainTimeout has passed: every
   * session gets the final GOAWAY (naming the last stream taken) and an idle one closes at once,
   * rather than seeing only the first GOAWAY and then its connection cut when the process exits.
   */
  finishDrain(): void {
    for (const s of this.sessions.keys()) closeSession(s);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }
}

/** The highest stream id HTTP/2 allows (2^31 - 1): a GOAWAY naming it refuses no stream already sent. */
const MAX_STREAM_ID = 2 ** 31 - 1;

function closeSession(session: http2.Http2Session): void {
  if (!session.closed && !session.destroyed) session.close();
}
