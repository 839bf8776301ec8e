import net from 'node:net';
import { goAddress, goSocketError } from './go-net-error.js';
import type { CallDone, LoadConnection } from './load-connection.js';
import { ECHO_FAILED, ECHO_OK, fortioEchoPayload, MISMATCH, OK_OUTCOME, SHORT_READ, type EchoConnectionOptions } from './socket-echo-call.js';
import type { SocketEchoPeer } from './socket-echo-destination.js';
import { SocketStats } from './socket-stats.js';

/**
 * Fortio's TCP client (tcprunner.TCPClient.Fetch): each call writes the payload and reads back as
 * many bytes, which must be the same. The socket is kept only after a call that echoed; a call that
 * fails leaves the next one a new socket. A kept socket that turns out dead on the write is replaced
 * once, and the call made again on the new one, as Fortio does.
 */
export class TcpLoadConnection implements LoadConnection {
  readonly sockets: SocketStats;
  private socket: net.Socket | undefined;
  private connected = false;
  /** The peer's FIN came: reads past the bytes already here meet EOF. */
  private ended = false;
  /** An error the socket met while no call was reading it: the next write finds it dead. */
  private idleError: NodeJS.ErrnoException | undefined;
  /** Bytes that came beyond a call's reply, or between calls: the next call reads them first, as Go's would from the kernel. */
  private surplus: Buffer[] = [];
  private done: CallDone | undefined;
  /** Between the call's write and its end. */
  private reading = false;
  private reused = false;
  private messages = 0;
  private request: Buffer;
  private readonly reply: Buffer;
  private filled = 0;
  private readonly generate: boolean;
  private readonly remote: string;

  constructor(
    private readonly peer: SocketEchoPeer,
    private readonly o: EchoConnectionOptions,
  ) {
    this.sockets = new SocketStats(o.layout);
    this.generate = o.payload.length === 0;
    this.request = this.generate ? fortioEchoPayload(o.thread, 0) : o.payload;
    this.reply = Buffer.alloc(this.request.length);
    this.remote = goAddress(peer.ip, peer.port);
  }

  call(done: CallDone): void {
    this.done = done;
    this.attempt();
  }

  private attempt(): void {
    this.messages++;
    this.filled = 0;
    this.reused = this.socket !== undefined;
    if (this.socket === undefined) return this.connect();
    if (this.idleError !== undefined) return this.retryOnNewSocket();
    this.write();
  }

  private connect(): void {
    this.sockets.connecting();
    const s = net.connect({ host: this.peer.ip, port: this.peer.port, noDelay: true, allowHalfOpen: true });
    this.socket = s;
    this.connected = false;
    this.ended = false;
    this.idleError = undefined;
    this.surplus = [];
    s.on('connect', () => {
      if (s !== this.socket) return;
      this.connected = true;
      this.sockets.connected();
      this.write();
    });
    s.on('data', (chunk: Buffer) => {
      if (s === this.socket) this.onData(chunk);
    });
    s.on('end', () => {
      if (s !== this.socket) return;
      this.ended = true;
      if (this.reading) this.finish(SHORT_READ);
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (s === this.socket) this.onError(err);
    });
  }

  private write(): void {
    if (this.generate) this.request = fortioEchoPayload(this.o.thread, this.messages);
    this.reading = true;
    // Go counts what its write took: all of it, unless the write fails.
    this.sockets.bytesSent += this.request.length;
    this.socket!.write(this.request);
    while (this.surplus.length > 0) {
      if (this.take(this.surplus.shift()!)) return;
    }
    if (this.ended) this.finish(SHORT_READ);
  }

  private onData(chunk: Buffer): void {
    if (this.reading) this.take(chunk);
    else this.surplus.push(chunk);
  }

  /** Reads a chunk into the call's reply; the bytes past it wait for the next call. True when the call ended. */
  private take(chunk: Buffer): boolean {
    const n = Math.min(chunk.length, this.reply.length - this.filled);
    chunk.copy(this.reply, this.filled, 0, n);
    this.filled += n;
    this.sockets.bytesReceived += n;
    if (n < chunk.length) this.surplus.unshift(chunk.subarray(n));
    if (this.filled < this.reply.length) return false;
    this.finish(this.reply.equals(this.request) ? OK_OUTCOME : MISMATCH);
    return true;
  }

  private onError(err: NodeJS.ErrnoException): void {
    if (!this.connected) return this.finish(goSocketError('dial', 'tcp', undefined, this.remote, err));
    if (!this.reading) {
      this.idleError = err;
      return;
    }
    const onWrite = err.syscall === 'write' || err.syscall === 'writev';
    // A write that fails took nothing.
    if (onWrite) this.sockets.bytesSent -= this.request.length;
    // It's ok for an idle socket to die once (Fortio): a new one, and the call made again on it.
    if (onWrite && this.reused) return this.retryOnNewSocket();
    if (onWrite) return this.finish(goSocketError('write', 'tcp', this.local(), this.remote, err));
    // Fortio takes a reset as the end of the stream: a short read.
    this.finish(err.code === 'ECONNRESET' ? SHORT_READ : goSocketError('read', 'tcp', this.local(), this.remote, err));
  }

  private retryOnNewSocket(): void {
    this.reading = false;
    this.drop();
    this.attempt();
  }

  /** Ends the call; only a call that echoed keeps its socket for the next. */
  private finish(outcome: string): void {
    const done = this.done;
    if (done === undefined) return;
    this.done = undefined;
    this.reading = false;
    const ok = outcome === OK_OUTCOME;
    if (!ok) this.drop();
    done(ok ? ECHO_OK : ECHO_FAILED, this.filled, 0, this.filled, outcome);
  }

  /** The local address as Go writes it in an error, "127.0.0.1:40000". */
  private local(): string {
    return goAddress(this.socket!.localAddress!, this.socket!.localPort!);
  }

  private drop(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** A call cut by the run's -timeout: Go's read deadline, or for a dial that did not end, its timeout. */
  abort(): string | undefined {
    if (this.done === undefined) return undefined;
    const outcome = this.connected ? goSocketError('read', 'tcp', this.local(), this.remote, 'timeout') : goSocketError('dial', 'tcp', undefined, this.remote, 'timeout');
    this.done = undefined;
    this.reading = false;
    this.drop();
    return outcome;
  }

  close(): void {
    this.done = undefined;
    this.reading = false;
    this.drop();
  }
}
