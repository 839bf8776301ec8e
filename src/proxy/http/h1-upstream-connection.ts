import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { DirectWriter } from './direct-writes.js';
import { readBytes } from './read-slab.js';
import { latin1Text } from '../../util/buffer-text.js';
import { H1Parser, type H1Head, type H1Sink } from './h1-parser.js';
import { logIfInternal } from './internal-error.js';
import { isIdempotent } from './idempotent-methods.js';
import type { BodyFraming, UpstreamRequest } from './upstream-request.js';
import { endpointText } from '../connection-endpoints.js';
import { ResetReason, type ResetReasonText } from './upstream-reset-reason.js';
import { upstreamTransportFailureReason } from '../tls/upstream-tls-failure.js';
import { keepReadingAfterWriteFailure } from './tls-write-failure.js';

/** The router's side of one request on an upstream connection. */
export interface UpstreamExchange {
  /** The request body's length as announced: 0 without a body, -1 when it is streamed. */
  readonly requestContentLength: number;
  /** A connection or stream is ready for this request: write the head now. */
  onUpstreamReady(request: UpstreamRequest): void;
  /** The upstream can take more request body. */
  onUpstreamDrain(): void;
  /**
   * The connection never opened: `reason` is the connect error's code (CONNECT_TIMEOUT when it took
   * too long), `transportFailureReason` the TLS handshake failure when TCP connected but TLS did not
   * (Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON%).
   */
  onUpstreamConnectFailure(reason: string, transportFailureReason?: string): void;
  onResponseHead(head: H1Head): void;
  /** An interim (1xx) response other than 101 came before the final one; `headers` as onResponseHead's. */
  onInterimResponse(status: number, headers: string[]): void;
  onResponseBody(chunk: Buffer): void;
  onResponseComplete(trailers: string[] | undefined): void;
  /** One read from the upstream has been handled (a head held for batching can go now). */
  onUpstreamReadEnd(): void;
  /**
   * The connection or stream failed mid-exchange; `responseStarted` tells whether any response byte
   * was seen. `unprocessed`: the upstream did not process the request (an HTTP/2 stream it refused,
   * a request never sent), or most likely did not (an idempotent request on a reused keep-alive
   * connection it had already closed), so the request may go again without a retry policy.
   * `connectionLimit`: it was refused by a connection that served other streams before going away
   * (a requests-per-connection limit, as nginx's keepalive_requests), which says nothing against the
   * request: that resend is not bounded.
   */
  onUpstreamReset(reason: ResetReasonText, responseStarted: boolean, unprocessed: boolean, connectionLimit?: boolean): void;
  /**
   * The request's head cannot be sent in the upstream's protocol (node:http2 refused a header):
   * nothing went out, and the fault is this proxy's or its config's, never the host's.
   */
  onRequestNotEncodable(reason: string): void;
}

/** What a connection tells its pool. */
export interface ConnectionOwner {
  onConnectionIdle(conn: H1UpstreamConnection): void;
  onConnectionClosed(conn: H1UpstreamConnection): void;
}

/**
 * Envoy's default response head limit (a cluster's max_response_headers_kb, 60 KiB): a larger head is a
 * 502. Passed on, a single field near 64 KiB makes nghttp2-based HTTP/2 clients (curl, nghttp) end the
 * whole connection with COMPRESSION_ERROR, every other stream on it included.
 */
const RESPONSE_LIMITS = { maxHeaderBytes: 60 * 1024, maxHeaders: 200 };

/** Request body chunks up to this size leave with their size line and CRLF as one string, one write. */
const SMALL_CHUNK = 16 * 1024;

/** One keep-alive HTTP/1.1 connection to an upstream host; carries one exchange at a time. */
export class H1UpstreamConnection implements H1Sink, UpstreamRequest {
  readonly parser: H1Parser;
  exchange: UpstreamExchange | null = null;
  connected = false;
  closed = false;
  requests = 0;
  idleSince = 0;
  private responseStarted = false;
  private keepAlive = true;
  private chunkedRequest = false;
  /** The request's body is still being sent: an early response must not free the connection for another request. */
  private requestOpen = false;
  private drainWanted = false;
  /** A write failed while the response was awaited: reads go on (see onWriteError), writes stop. */
  private writeFailed = false;
  /** The response ended inside the current read: the connection is released once that read is parsed. */
  private responseDone = false;
  /** The socket was handed over for a tunnel: its bytes are no longer this connection's. */
  private detached = false;
  /** The current request's method (a reference to the parsed one, read only if the connection fails). */
  private method = '';
  private readonly writer: DirectWriter;
  private local: string | undefined;

  constructor(
    readonly socket: Socket,
    private readonly owner: ConnectionOwner,
    readonly hostKey: string,
    /** The connector hands reads to onData() itself (see ReadSlab); otherwise they come as 'data' events. */
    readsDelivered = false,
  ) {
    this.parser = new H1Parser('response', RESPONSE_LIMITS, this);
    socket.setNoDelay(true);
    if (!readsDelivered) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onClose());
    socket.on('error', (err) => this.onError(err));
    this.writer = new DirectWriter(
      socket,
      () => this.onSocketDrain(),
      (err) => this.onWriteError(err),
    );
    // TLS writes go through Writable, which would destroy the socket on a failed write.
    if (socket instanceof TLSSocket) keepReadingAfterWriteFailure(socket, () => this.keepReadingAfterWriteError());
  }

  /** Binds an exchange; the caller writes its request right after. */
  attach(exchange: UpstreamExchange, headRequest: boolean): void {
    this.exchange = exchange;
    this.requests++;
    this.responseStarted = false;
    this.parser.expectNoBody = headRequest;
  }

  /** Read once per connection (a getsockname call), while the socket is open. */
  get localEndpoint(): string | undefined {
    return (this.local ??= endpointText(this.socket.localAddress, this.socket.localPort));
  }

  /** Whether this connection was used before the current exchange (a stale keep-alive may reset). */
  get reused(): boolean {
    return this.requests > 1;
  }

  /**
   * Whether the request may go again after this connection closed without an answer. A reused
   * keep-alive connection most likely went stale before the request reached the upstream, but it
   * may have read it: only an idempotent request is sent again (RFC 9110 §9.2.2: a proxy must not
   * retry a POST on its own).
   */
  private get staleReplayable(): boolean {
    return this.requests > 1 && isIdempotent(this.method);
  }

  sendHead(method: string, path: string, authority: string, _scheme: string, headers: string[], framing: BodyFraming): void {
    this.method = method;
    // An HTTP/1.0 client may send no Host; HTTP/1.1 upstreams require one.
    let head = method + ' ' + path + ' HTTP/1.1\r\nhost: ' + (authority || this.hostKey) + '\r\n';
    // Concatenation, not template literals: those convert each array element with ToString.
    for (let i = 0; i < headers.length; i += 2) head += headers[i]! + ': ' + headers[i + 1]! + '\r\n';
    this.chunkedRequest = false;
    this.requestOpen = !framing.endStream;
    if (framing.endStream) {
      if (framing.contentLength === 0 && method !== 'GET' && method !== 'HEAD') head += 'content-length: 0\r\n';
    } else if (framing.contentLength >= 0) head += `content-length: ${framing.contentLength}\r\n`;
    else {
      head += 'transfer-encoding: chunked\r\n';
      this.chunkedRequest = true;
    }
    head += '\r\n';
    this.writer.writeLatin1(head);
  }

  sendBody(chunk: Buffer): boolean {
    if (chunk.length === 0 || this.writeFailed) return true;
    if (!this.chunkedRequest) return this.checkDrain(this.writer.writeBuffer(chunk));
    // Chunks go through the writer too: a failed write must reach onWriteError, which keeps an
    // upstream's early answer readable, where socket.write() would destroy the socket with it.
    const sizeLine = chunk.length.toString(16) + '\r\n';
    if (chunk.length <= SMALL_CHUNK) return this.checkDrain(this.writer.writeLatin1(sizeLine + latin1Text(chunk, 0, chunk.length) + '\r\n'));
    let ok = this.writer.writeLatin1(sizeLine);
    if (!this.writeFailed) ok = this.writer.writeBuffer(chunk) && ok;
    if (!this.writeFailed) ok = this.writer.writeLatin1('\r\n') && ok;
    return this.checkDrain(ok);
  }

  sendEnd(_trailers: string[] | undefined): void {
    this.requestOpen = false;
    // Request trailers are dropped on HTTP/1.1 upstreams (few servers accept them).
    if (this.chunkedRequest && !this.writeFailed) this.writer.writeLatin1('0\r\n\r\n');
  }

  pauseResponse(): void {
    this.socket.pause();
  }

  resumeResponse(): void {
    this.socket.resume();
  }

  private checkDrain(ok: boolean): boolean {
    if (!ok) this.drainWanted = true;
    return ok;
  }

  private onSocketDrain(): void {
    if (!this.drainWanted) return;
    this.drainWanted = false;
    this.exchange?.onUpstreamDrain();
  }

  /** Detaches the exchange without waiting for the rest of the response: the connection cannot be reused. */
  abandon(): void {
    this.exchange = null;
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.socket.destroy();
  }

  /** Hands over the socket and bytes after a 101 response, for a tunnel. */
  detachForTunnel(): { socket: Socket; head: Buffer } {
    const head = this.parser.takeTunnelBytes();
    this.detached = true;
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('end');
    this.exchange = null;
    this.keepAlive = false;
    return { socket: this.socket, head };
  }

  markNoReuse(): void {
    this.keepAlive = false;
  }

  onHead(head: H1Head): void {
    if (head.statusCode >= 100 && head.statusCode < 200 && head.statusCode !== 101) {
      // An interim response: the final one is still to come on this connection.
      this.exchange?.onInterimResponse(head.statusCode, head.headers);
      return;
    }
    this.responseStarted = true;
    if (head.connectionClose) this.keepAlive = false;
    this.exchange?.onResponseHead(head);
  }

  onBody(chunk: Buffer): void {
    this.exchange?.onResponseBody(chunk);
  }

  onMessageComplete(trailers: string[] | undefined): void {
    const ex = this.exchange;
    if (!ex || !this.responseStarted) return;
    this.exchange = null;
    // Bytes after the response in the same read answer no request: paused, the parser keeps them,
    // and release() sees them before the connection could carry another request.
    this.parser.pause();
    this.responseDone = true;
    ex.onResponseComplete(trailers);
  }

  /** Pools the connection after a response, or closes it when it cannot carry another request. */
  private release(): void {
    this.responseDone = false;
    // An upstream may answer before reading the whole body (RFC 9112 §9.3): the rest will never be
    // sent, so the connection is mid-message and the next request would land inside the old body.
    // Bytes past the response's end mean the upstream frames messages differently: whatever they
    // are, they must not be read as the next request's response.
    if (this.keepAlive && !this.closed && !this.requestOpen && this.parser.bufferedBytes === 0) {
      this.parser.resume();
      this.idleSince = Date.now();
      // The last body chunk may have paused reads for backpressure; an idle connection must read
      // (to see the upstream close it), and the next request must see its response.
      if (this.socket.isPaused()) this.socket.resume();
      this.owner.onConnectionIdle(this);
    } else this.destroy();
  }

  /** Bytes from the upstream. */
  onData(chunk: Buffer, length = chunk.length): void {
    if (this.detached) {
      // A tunnel pipes this socket: delivered reads become the 'data' events pipe() listens to.
      this.socket.emit('data', readBytes(chunk, length));
      return;
    }
    if (!this.exchange) {
      // Bytes with no request outstanding: the upstream is confused; never reuse it.
      this.destroy();
      return;
    }
    try {
      this.parser.execute(chunk, length);
    } catch (err) {
      logIfInternal(err, 'response');
      const ex = this.exchange;
      this.exchange = null;
      this.destroy();
      // The upstream answered, however badly: it read the request, so this is no stale connection to replay.
      ex?.onUpstreamReset(ResetReason.ProtocolError, this.responseStarted, false);
      return;
    }
    if (this.responseDone) this.release();
    else if (this.exchange !== null) this.exchange.onUpstreamReadEnd();
    else if (this.detached) this.passTunnelBytes();
  }

  /**
   * A 101 detaches the socket from inside the parse of its head, before the parser has set aside
   * the bytes that followed the head in the same read (a server's first frames): they go to the tunnel now.
   */
  private passTunnelBytes(): void {
    const rest = this.parser.takeTunnelBytes();
    if (rest.length > 0) this.socket.emit('data', rest);
  }

  private onEnd(): void {
    const ex = this.exchange;
    if (ex) {
      try {
        this.parser.finish();
      } catch {
        // truncated message: reported as a reset below
      }
    }
    // A body that ran until this close completed the exchange; the connection is done either way.
    this.keepAlive = false;
    if (this.responseDone) this.release();
    this.socket.end();
  }

  /**
   * A write failed (EPIPE, ECONNRESET). An upstream that answers before reading the body (RFC 9112
   * §9.3) and closes makes its kernel reset the connection, and its answer may be waiting in the
   * receive buffer, which destroying the socket would discard. While no response byte has been read
   * the socket is left to its reads: the kernel hands over what it holds, then the reset ('error').
   */
  private onWriteError(err: Error): void {
    if (!this.keepReadingAfterWriteError()) this.socket.destroy(err);
  }

  /** Whether a failed write leaves the socket to its reads (see onWriteError); if so, writes stop. */
  private keepReadingAfterWriteError(): boolean {
    if (this.exchange === null || this.responseStarted || this.socket.isPaused()) return false;
    this.writeFailed = true;
    this.keepAlive = false;
    return true;
  }

  private onError(err: Error): void {
    const ex = this.exchange;
    this.exchange = null;
    if (!ex) return;
    if (!this.connected) ex.onUpstreamConnectFailure((err as NodeJS.ErrnoException).code ?? err.message, upstreamTransportFailureReason(err));
    // Whether the peer closed or reset it, an HTTP/1.1 stream ends with its connection (Envoy: UC).
    else ex.onUpstreamReset(ResetReason.ConnectionTermination, this.responseStarted, this.staleReplayable);
  }

  private onClose(): void {
    this.closed = true;
    const ex = this.exchange;
    this.exchange = null;
    if (ex) {
      if (!this.connected) ex.onUpstreamConnectFailure('connection closed');
      else ex.onUpstreamReset(ResetReason.ConnectionTermination, this.responseStarted, this.staleReplayable);
    }
    this.owner.onConnectionClosed(this);
  }
}
