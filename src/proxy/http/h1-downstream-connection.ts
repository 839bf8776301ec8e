import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { detachedLatin1, latin1Text } from '../../util/buffer-text.js';
import { deadlineSweeper, type DeadlineHolder } from './deadline-sweeper.js';
import { deliverReadsDirectly } from './direct-reads.js';
import { DirectWriter } from './direct-writes.js';
import type { DownstreamResponder } from './downstream-responder.js';
import { H1Parser, HttpParseError, type H1Head, type H1Sink } from './h1-parser.js';
import { h1RequestTarget } from './h1-request-target.js';
import { logIfInternal } from './internal-error.js';
import type { HttpListenerContext } from './http-listener-context.js';
import { HttpStream } from './http-stream.js';
import { readBytes } from './read-slab.js';
import type { RequestHead } from './request-head.js';
import { addResponseFlag, ResponseFlag } from './response-flags.js';
import { statusLine } from './status-line.js';
import { connectionEndpoints, type ConnectionEndpoints } from '../connection-endpoints.js';
import { closeAfterFlush } from '../flush-close.js';
import { resetSocket } from '../reset-socket.js';
// The module binding: the global `performance` is a lazy getter, a call per read on the hot path.
import { performance } from 'node:perf_hooks';

/** What the listener tells a downstream connection, and what it learns back. */
export interface DownstreamConnectionOwner {
  onConnectionClosed(conn: { drain(): void }): void;
}

/** Bodies up to this size are written together with the head as one string. */
const SMALL_BODY = 16 * 1024;

/**
 * Bytes pipelined behind a request in flight wait in the parser; past this much the connection stops
 * reading until that response is done, so a client cannot make the proxy hold all it sends.
 */
const PIPELINE_BUFFER_LIMIT = 64 * 1024;

/** How long a tunnel side that closes waits for its peer to take what is queued, when no stream idle timeout is set. */
const TUNNEL_FLUSH_MS = 300_000;

/** Resuming a parse from inside a response completion nests; past this depth it continues on the next turn. */
const MAX_RESUME_DEPTH = 8;

/**
 * One HTTP/1.1 client connection: parses requests (pipelined ones in order, one at a time),
 * hands each to an HttpStream and writes its response back with the right framing.
 */
export class H1DownstreamConnection implements H1Sink, DownstreamResponder, DeadlineHolder {
  readonly parser: H1Parser;
  protocol: 'HTTP/1.0' | 'HTTP/1.1' = 'HTTP/1.1';
  private stream: HttpStream | null = null;
  private closeAfterResponse = false;
  private chunkedResponse = false;
  /** The response in flight ends when the connection closes (an HTTP/1.0 client, no length known). */
  private closeDelimited = false;
  private responding = false;
  private requests = 0;
  /** When the current connection timeout is due (performance.now() ms, 0 = none); see deadline-sweeper. */
  deadline = 0;
  listSlot = -1;
  private waitingForHead = true;
  private draining = false;
  private resumeDepth = 0;
  private drainStream: HttpStream | null = null;
  private closed = false;
  private pendingHead: string | undefined;
  private tunneled = false;
  /** The upstream of a tunnel whose idle time is watched, and its stream (for the log's SI flag). */
  private tunnelUpstream: Socket | undefined;
  private tunnelStream: HttpStream | undefined;
  private readonly writer: DirectWriter;
  /** The peer never changes: read once, not through the socket's getter per request. */
  private readonly remoteAddress: string;
  /** The current stream's idle timeout: the listener's, or its route's (ms; 0 = none). */
  private streamIdleMs = 0;
  private readonly downstreamTls: TLSSocket | undefined;
  private readonly endpoints: ConnectionEndpoints;
  /** The last Host value seen on this connection and its lower-cased form: keep-alive clients repeat it. */
  private lastHost = '';
  /** Bytes were read or written since the stream idle deadline was last set. */
  private active = false;
  private lastAuthority = '';
  /** The client half-closed: what it sent is answered, then the connection ends. */
  private peerEnded = false;

  constructor(
    readonly socket: Socket,
    private readonly ctx: () => HttpListenerContext,
    private readonly owner: DownstreamConnectionOwner,
    private readonly scheme: 'http' | 'https',
    private readonly peerPrincipal: string,
    initial: Buffer | undefined,
  ) {
    const hcm = ctx().hcm;
    this.parser = new H1Parser('request', { maxHeaderBytes: hcm.maxRequestHeadersKb * 1024, maxHeaders: hcm.commonHttpProtocolOptions.maxHeadersCount }, this);
    socket.setNoDelay(true);
    // A client may half-close once its request is sent (shutdown(SHUT_WR), `nc -N`) and still read
    // the answer; Node would otherwise end this side at once.
    socket.allowHalfOpen = true;
    this.refreshTimer(hcm.requestHeadersTimeout || hcm.commonHttpProtocolOptions.idleTimeout);
    deadlineSweeper.add(this);
    socket.on('end', () => this.onEnd());
    socket.on('error', () => this.socket.destroy());
    socket.on('close', () => this.onClose());
    this.writer = new DirectWriter(socket, () => this.onSocketDrain());
    this.remoteAddress = socket.remoteAddress ?? '';
    this.downstreamTls = socket instanceof TLSSocket ? socket : undefined;
    this.endpoints = connectionEndpoints(socket, undefined, ctx().accessLogReads.downstreamTls);
    if (initial && initial.length > 0) this.onData(initial);
    const onRead = (chunk: Buffer, length = chunk.length): void => this.onRead(chunk, length);
    if (!deliverReadsDirectly(socket, onRead)) socket.on('data', onRead);
  }

  private onRead(chunk: Buffer, length: number): void {
    // A tunnel pipes this socket: direct reads become the 'data' events pipe() listens to.
    if (this.tunneled) this.socket.emit('data', readBytes(chunk, length));
    else this.onData(chunk, length);
  }

  private onData(chunk: Buffer, length = chunk.length): void {
    this.active = true;
    const startsHead = this.waitingForHead && this.parser.isIdle();
    try {
      this.parser.execute(chunk, length);
    } catch (err) {
      this.onParseError(err);
      return;
    }
    // Reading resumes in resumeParsing() once the request in flight is answered.
    if (this.parser.isPaused() && this.parser.bufferedBytes > PIPELINE_BUFFER_LIMIT) this.socket.pause();
    // The first bytes of a head start the slow-client clock (Envoy's request_headers_timeout).
    if (startsHead && this.waitingForHead && !this.closed) this.refreshTimer(this.ctx().hcm.requestHeadersTimeout);
  }

  private onParseError(err: unknown): void {
    logIfInternal(err, 'request');
    const ctx = this.ctx();
    ctx.stats.protocolErrors++;
    const status = err instanceof HttpParseError ? err.status : 400;
    const reason = err instanceof HttpParseError ? err.reason : 'malformed request';
    const stream = this.stream;
    if (stream && !stream.done) {
      // The request body was malformed mid-stream: the exchange cannot be completed cleanly.
      stream.responseFlags = ResponseFlag.DownstreamProtocolError;
      if (this.responding) {
        stream.onDownstreamReset();
        this.socket.destroy();
        return;
      }
      stream.onDownstreamReset();
    }
    this.writeErrorAndClose(status, reason);
  }

  private writeErrorAndClose(status: number, reason: string): void {
    if (this.closed || this.socket.destroyed) return;
    const body = `${reason}\n`;
    this.endConnection(`HTTP/1.1 ${statusLine(status)}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  }

  /**
   * Half-closes after `last` (if any). Until every byte is out, a peer that stops reading gets the
   * stream idle timeout; once the FIN has gone, the delayed-close deadline cuts off a peer that keeps
   * its side open.
   */
  private endConnection(last?: string): void {
    this.closed = true;
    this.refreshTimer(this.ctx().hcm.streamIdleTimeout);
    // Once the FIN has gone the peer gets delayedCloseTimeout (Envoy's, 1 s by default) to close its
    // side: a client that never closes must not hold a descriptor for ever.
    this.socket.once('finish', () => {
      if (this.socket.destroyed) return;
      const grace = this.ctx().hcm.delayedCloseTimeout;
      if (grace > 0) this.deadline = performance.now() + grace;
      else this.socket.destroy();
    });
    if (last === undefined) this.socket.end();
    else this.socket.end(last, 'latin1');
  }

  onHead(head: H1Head): void {
    const ctx = this.ctx();
    this.waitingForHead = false;
    this.requests++;
    ctx.stats.downstreamRequests++;
    this.protocol = head.versionMinor === 0 ? 'HTTP/1.0' : 'HTTP/1.1';
    if (head.versionMinor === 0 && !ctx.hcm.httpProtocolOptions.acceptHttp10) throw new HttpParseError(426, 'HTTP/1.0 is not accepted here');
    const req = this.toRequestHead(head);
    if (typeof req === 'string') throw new HttpParseError(400, req);
    const maxRequests = ctx.hcm.commonHttpProtocolOptions.maxRequestsPerConnection;
    this.closeAfterResponse = head.connectionClose || this.draining || (maxRequests > 0 && this.requests >= maxRequests);
    const length = head.chunked ? -1 : Math.max(head.contentLength, 0);
    let upgrade: string | undefined;
    let upgradeRefused = false;
    // An HTTP/1.0 request's Upgrade is ignored (RFC 9110 §7.8): it is served as a plain request.
    if (head.upgrade && (head.versionMinor === 1 || head.method === 'CONNECT')) {
      const wanted = headerOf(head.headers, 'upgrade')?.toLowerCase();
      // h2c (curl --http2 over cleartext) is never tunnelled, whatever upgradeConfigs say: as Envoy's
      // codec does, its upgrade headers are dropped and the request is served as HTTP/1.1.
      if (wanted !== 'h2c') {
        if (wanted && ctx.hcm.upgradeConfigs.some((u) => u.upgradeType === wanted)) upgrade = wanted;
        // Envoy refuses an upgrade its connection manager is not configured for (403 upgrade_failed) and
        // ends the connection: bytes the client sends after it are not a next request.
        else {
          upgradeRefused = true;
          this.closeAfterResponse = true;
        }
      }
    }
    if (head.versionMinor === 1 && headerOf(head.headers, 'expect')?.toLowerCase() === '100-continue') {
      this.writer.writeLatin1('HTTP/1.1 100 Continue\r\n\r\n');
      stripHeader(req.headers, 'expect');
    }
    this.streamIdleMs = ctx.hcm.streamIdleTimeout;
    this.refreshTimer(this.streamIdleMs);
    this.active = false;
    const stream = new HttpStream(ctx, req, this, length, this.peerPrincipal, upgrade);
    stream.upgradeRefused = upgradeRefused;
    this.stream = stream;
    this.responding = false;
    if (length === 0) stream.requestComplete = true;
    stream.start();
  }

  private toRequestHead(head: H1Head): RequestHead | string {
    const target = h1RequestTarget(head, this.lastHost);
    if (typeof target === 'string') return target;
    const host = target.host ?? this.ctx().hcm.httpProtocolOptions.defaultHostForHttp10;
    if (host !== this.lastHost) {
      // Kept past this request (and used as the route table's cache key): not a view into the head.
      this.lastHost = detachedLatin1(host);
      this.lastAuthority = this.lastHost.toLowerCase();
    }
    return {
      method: head.method,
      path: target.path,
      authority: this.lastAuthority,
      scheme: this.scheme,
      headers: head.headers,
      remoteAddress: this.remoteAddress,
      downstreamTls: this.downstreamTls,
      endpoints: this.endpoints,
    };
  }

  onBody(chunk: Buffer): void {
    this.stream?.onRequestBody(chunk);
  }

  onMessageComplete(trailers: string[] | undefined): void {
    const stream = this.stream;
    // One request at a time: later pipelined requests wait in the parser until this response ends.
    // A connection already ending (a local reply to a "Connection: close" request, a refused upgrade)
    // takes no more: what follows must not reach an upstream when no answer can reach the client.
    if ((stream && !stream.done) || this.closed) this.parser.pause();
    stream?.onRequestEnd(trailers);
  }

  // --- DownstreamResponder ---

  sendHead(status: number, headers: string[], contentLength: number, endStream: boolean, holdUntilFlush = false): void {
    if (this.closed) return;
    this.responding = true;
    let out = 'HTTP/1.1 ' + statusLine(status) + '\r\n';
    // Concatenation, not template literals: those convert each array element with ToString.
    for (let i = 0; i < headers.length; i += 2) out += headers[i]! + ': ' + headers[i + 1]! + '\r\n';
    this.chunkedResponse = false;
    this.closeDelimited = false;
    const bodyAllowed = status !== 204 && status !== 304 && status >= 200;
    if (contentLength >= 0) {
      if (bodyAllowed) out += `content-length: ${contentLength}\r\n`;
    } else if (this.protocol === 'HTTP/1.1') {
      out += 'transfer-encoding: chunked\r\n';
      this.chunkedResponse = true;
    } else {
      this.closeAfterResponse = true;
      this.closeDelimited = bodyAllowed;
    }
    // An answer that comes before the whole request ends the connection (the rest is never read as
    // a next request): the client is told so, as Envoy does.
    if (this.stream !== null && !this.stream.requestComplete) this.closeAfterResponse = true;
    // Health check failed or the listener draining (Envoy's drainClose): a keep-alive connection ends with this response.
    if (!this.closeAfterResponse && this.ctx().drainClose()) this.closeAfterResponse = true;
    if (this.closeAfterResponse) out += 'connection: close\r\n';
    else if (this.protocol === 'HTTP/1.0') out += 'connection: keep-alive\r\n';
    out += '\r\n';
    if (endStream) {
      this.writer.writeLatin1(out);
      this.onResponseDone();
      return;
    }
    // Head and first body bytes usually come from the same upstream read: hold the head so both
    // leave in one write. The caller flushes it after that read, or else it goes alone a tick later.
    this.pendingHead = out;
    if (!holdUntilFlush) process.nextTick(flushPendingHead, this);
  }

  sendInterim(status: number, headers: string[]): boolean {
    // An HTTP/1.0 client does not know 1xx responses (RFC 9110 §15.2); after the final head none may come.
    if (this.closed || this.responding || this.protocol !== 'HTTP/1.1') return false;
    let out = 'HTTP/1.1 ' + statusLine(status) + '\r\n';
    for (let i = 0; i < headers.length; i += 2) out += headers[i]! + ': ' + headers[i + 1]! + '\r\n';
    this.writer.writeLatin1(out + '\r\n');
    this.active = true;
    return true;
  }

  flushHead(): void {
    this.flushPendingHead();
  }

  withdrawHeldHead(): boolean {
    if (this.pendingHead === undefined) return false;
    this.pendingHead = undefined;
    this.responding = false;
    return true;
  }

  /** Writes a held response head on its own. */
  flushPendingHead(): void {
    const head = this.pendingHead;
    if (head === undefined || this.closed) return;
    this.pendingHead = undefined;
    this.writer.writeLatin1(head);
  }

  sendBody(chunk: Buffer): boolean {
    this.active = true;
    if (this.closed || chunk.length === 0) return true;
    let prefix = this.pendingHead;
    this.pendingHead = undefined;
    if (this.chunkedResponse) prefix = prefix === undefined ? `${chunk.length.toString(16)}\r\n` : `${prefix}${chunk.length.toString(16)}\r\n`;
    if (prefix === undefined) return this.writer.writeBuffer(chunk);
    if (chunk.length <= SMALL_BODY) {
      // One string, one write: latin1 maps bytes 1:1, so binary bodies survive the round trip.
      const body = latin1Text(chunk, 0, chunk.length);
      return this.writer.writeLatin1(this.chunkedResponse ? prefix + body + '\r\n' : prefix + body);
    }
    this.socket.cork();
    this.socket.write(prefix, 'latin1');
    // Only a write() that returned false promises a 'drain' event, so that is what backpressure reports.
    let ok = this.socket.write(chunk);
    if (this.chunkedResponse) ok = this.socket.write('\r\n', 'latin1') && ok;
    this.socket.uncork();
    return ok;
  }

  sendEnd(_trailers: string[] | undefined): void {
    if (this.closed) return;
    const head = this.pendingHead;
    this.pendingHead = undefined;
    if (this.chunkedResponse) this.writer.writeLatin1(head === undefined ? '0\r\n\r\n' : `${head}0\r\n\r\n`);
    else if (head !== undefined) this.writer.writeLatin1(head);
    this.onResponseDone();
  }

  abort(): void {
    this.stream = null;
    // A FIN would end a close-delimited body as if it were whole: a reset tells the client it was cut
    // short. (Over TLS, the missing close_notify says so.)
    if (this.closeDelimited && this.downstreamTls === undefined) this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  notifyDrain(stream: HttpStream): void {
    this.drainStream = stream;
  }

  setStreamIdleTimeout(ms: number): void {
    this.streamIdleMs = ms;
    this.refreshTimer(ms);
  }

  pauseRequestBody(): void {
    this.socket.pause();
  }

  resumeRequestBody(): void {
    if (!this.parser.isPaused()) this.socket.resume();
  }

  startTunnel(responseHeaders: string[], upstream: Socket, upstreamHead: Buffer, stream: HttpStream): void {
    this.deadline = 0;
    let out = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (let i = 0; i < responseHeaders.length; i += 2) out += `${responseHeaders[i]}: ${responseHeaders[i + 1]}\r\n`;
    const down = this.socket;
    down.write(out + '\r\n', 'latin1');
    // The tunnel's bytes are counted from the end of the 101: the upstream's bytes that came with it
    // and the client's that came before it (already read) are its first.
    const startWritten = down.bytesWritten;
    if (upstreamHead.length > 0) down.write(upstreamHead);
    const early = this.parser.takeTunnelBytes();
    if (early.length > 0) upstream.write(early);
    const startRead = down.bytesRead - early.length;
    this.tunneled = true;
    down.removeAllListeners('data');
    down.removeAllListeners('end');
    down.removeAllListeners('drain');
    this.stream = null;
    // The upstream's FIN is passed on and the client may still send after it (as the client's FIN
    // is, the other way): Node would otherwise end the pooled socket's side at once, and what the
    // client sent after was lost.
    upstream.allowHalfOpen = true;
    down.pipe(upstream);
    upstream.pipe(down);
    upstream.resume();
    down.resume();
    // When one side closes, what the proxy already took from it still goes to the other (Envoy's
    // FlushWrite close): destroying at once dropped the tail queued for a peer that reads slowly.
    const grace = this.ctx().hcm.streamIdleTimeout || TUNNEL_FLUSH_MS;
    upstream.on('error', () => upstream.destroy());
    // A reset on one side is passed on as a reset (a FIN would tell the peer the stream ended whole)
    // and logged as Envoy logs a stream cut short: UC for the upstream's, DC for the client's.
    // A reset after that side's FIN ends nothing more (it answers bytes sent to a closed socket): what
    // was already taken from it still goes out.
    upstream.once('close', (hadError) => {
      if (!hadError || upstream.readableEnded) {
        closeAfterFlush(down, grace);
        return;
      }
      stream.onTunnelReset('upstream');
      resetSocket(down);
    });
    // The stream idle timeout (the route's idleTimeout, else the listener's) still bounds an upgraded
    // stream, as in Envoy: a WebSocket silent both ways for that long is closed. Bytes either way
    // count as activity; onDeadline checks between periods, so a read costs a flag.
    if (this.streamIdleMs > 0) {
      this.tunnelUpstream = upstream;
      this.tunnelStream = stream;
      const markActive = (): void => {
        this.active = true;
      };
      down.on('data', markActive);
      upstream.on('data', markActive);
      this.active = false;
      this.refreshTimer(this.streamIdleMs);
    }
    down.once('close', (hadError) => {
      if (hadError && !down.readableEnded && !upstream.destroyed) {
        stream.onTunnelReset('downstream');
        resetSocket(upstream);
      } else closeAfterFlush(upstream, grace);
      stream.onTunnelClosed(down.bytesWritten - startWritten, down.bytesRead - startRead);
    });
  }

  // --- connection lifecycle ---

  private onResponseDone(): void {
    const stream = this.stream;
    this.stream = null;
    this.responding = false;
    if (this.closeAfterResponse || (stream && !stream.requestComplete)) {
      this.endConnection();
      return;
    }
    this.waitingForHead = true;
    this.refreshTimer(this.ctx().hcm.commonHttpProtocolOptions.idleTimeout);
    if (this.resumeDepth >= MAX_RESUME_DEPTH) {
      setImmediate(resumeParsing, this);
      return;
    }
    this.resumeDepth++;
    try {
      this.resumeParsing();
    } finally {
      this.resumeDepth--;
    }
  }

  resumeParsing(): void {
    if (this.closed) return;
    try {
      this.parser.resume();
    } catch (err) {
      this.onParseError(err);
      return;
    }
    if (this.stream !== null) return;
    // After the client's FIN nothing more can come: every request it sent has been answered.
    if (this.peerEnded) this.endConnection();
    else this.socket.resume();
  }

  /** A period of the tunnel's idle timeout ended: one with traffic re-arms it, a silent one closes both sides. */
  private tunnelIdleCheck(upstream: Socket): void {
    if (this.active) {
      this.active = false;
      this.refreshTimer(this.streamIdleMs);
      return;
    }
    if (this.tunnelStream !== undefined) this.tunnelStream.responseFlags = addResponseFlag(this.tunnelStream.responseFlags, ResponseFlag.StreamIdleTimeout);
    this.tunnelUpstream = undefined;
    upstream.destroy();
    this.socket.destroy();
  }

  private refreshTimer(ms: number): void {
    this.deadline = ms > 0 ? performance.now() + ms : 0;
  }

  /** The connection's deadline passed: a slow head, an idle keep-alive, or a stalled stream. */
  onDeadline(): void {
    if (this.tunnelUpstream !== undefined) {
      this.tunnelIdleCheck(this.tunnelUpstream);
      return;
    }
    if (this.closed) {
      // The peer did not close its side within the delayed-close time.
      this.socket.destroy();
      return;
    }
    if (this.waitingForHead) {
      if (this.parser.isIdle()) this.endConnection();
      else this.writeErrorAndClose(408, 'request header timeout');
      return;
    }
    const stream = this.stream;
    if (stream && !stream.done && this.active) {
      // Bytes moved within the last period: the stream is not idle (Envoy's stream_idle_timeout
      // restarts on any activity). Checked here rather than re-armed per read or write, so a silent
      // stream is cut between one and two periods after its last byte.
      this.active = false;
      this.refreshTimer(this.streamIdleMs);
      return;
    }
    if (stream && !stream.done) {
      // A 408 when no response has started; the connection then closes, since the request may be unread.
      this.closeAfterResponse = true;
      stream.streamIdleTimeout();
      if (this.stream === null || stream.done) return;
    }
    this.socket.destroy();
  }

  private onSocketDrain(): void {
    this.active = true;
    const s = this.drainStream;
    if (s) {
      this.drainStream = null;
      s.onDownstreamDrain();
    }
  }

  private onEnd(): void {
    this.peerEnded = true;
    // Paused, the parser holds pipelined requests still to be answered: resumeParsing() ends after them.
    if (!this.parser.isPaused()) {
      try {
        this.parser.finish();
      } catch {
        // A half-sent request (or body): it can never be answered.
        this.socket.destroy();
        return;
      }
    }
    if (!this.stream || this.stream.done) {
      this.closed = true;
      this.socket.end();
    }
  }

  private onClose(): void {
    this.closed = true;
    this.deadline = 0;
    deadlineSweeper.remove(this);
    const stream = this.stream;
    this.stream = null;
    if (stream && !stream.done) stream.onDownstreamReset();
    this.owner.onConnectionClosed(this);
  }

  /** Graceful drain: finish the current response with Connection: close, or close now when idle; a tunnel is left to end on its own. */
  drain(): void {
    // An upgraded connection has no next response to say "close" on: like a TCP proxy connection it
    // runs to its own end, and a process drain ends it when the drain time is up.
    if (this.tunneled) return;
    this.draining = true;
    this.closeAfterResponse = true;
    if (!this.stream && !this.closed) this.endConnection();
  }

}

function headerOf(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

function stripHeader(headers: string[], name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i] === name) headers.splice(i, 2);
}

function flushPendingHead(conn: H1DownstreamConnection): void {
  conn.flushPendingHead();
}

function resumeParsing(conn: H1DownstreamConnection): void {
  conn.resumeParsing();
}
