import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { goAddress, goSocketError } from './go-net-error.js';
import type { CallDone, LoadConnection } from './load-connection.js';
import { ECHO_FAILED, ECHO_OK, fortioEchoPayload, MISMATCH, OK_OUTCOME, SHORT_READ, type EchoConnectionOptions } from './socket-echo-call.js';
import type { SocketEchoPeer } from './socket-echo-destination.js';
import { SocketStats } from './socket-stats.js';

/** Fortio's error when no datagram came back within -udp-timeout. */
const UDP_TIMEOUT = 'timeout';

/**
 * Fortio's UDP client (udprunner.UDPClient.Fetch): each call sends the payload as one datagram on a
 * connected socket and reads one datagram back, cut to the payload's length, which must be the
 * payload. As its TCP client, it keeps the socket only after a call that echoed, and replaces a kept
 * socket found dead on the send once, making the call again on the new one.
 */
export class UdpLoadConnection implements LoadConnection {
  readonly sockets: SocketStats;
  private socket: dgram.Socket | undefined;
  private connected = false;
  /** An error the socket met while no call was reading it (an ICMP refusal): the next send finds it. */
  private idleError: NodeJS.ErrnoException | undefined;
  /** Datagrams that came while no call was reading: the next call reads the first, as Go's would from the kernel. */
  private queued: Buffer[] = [];
  private done: CallDone | undefined;
  private reading = false;
  private reused = false;
  private messages = 0;
  private request: Buffer;
  private received = 0;
  private readonly generate: boolean;
  private readonly remote: string;

  constructor(
    private readonly peer: SocketEchoPeer,
    private readonly o: EchoConnectionOptions,
  ) {
    this.sockets = new SocketStats(o.layout);
    this.generate = o.payload.length === 0;
    this.request = this.generate ? fortioEchoPayload(o.thread, 0) : o.payload;
    this.remote = goAddress(peer.ip, peer.port);
  }

  call(done: CallDone): void {
    this.done = done;
    this.attempt();
  }

  private attempt(): void {
    this.messages++;
    this.received = 0;
    this.reused = this.socket !== undefined;
    if (this.socket === undefined) return this.connect();
    if (this.idleError !== undefined) return this.retryOnNewSocket();
    this.send();
  }

  private connect(): void {
    this.sockets.connecting();
    const s = dgram.createSocket(isIPv6(this.peer.ip) ? 'udp6' : 'udp4');
    this.socket = s;
    this.connected = false;
    this.idleError = undefined;
    this.queued = [];
    s.on('message', (msg: Buffer) => {
      if (s === this.socket) this.onMessage(msg);
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (s === this.socket) this.onError(err);
    });
    s.connect(this.peer.port, this.peer.ip, () => {
      if (s !== this.socket || this.done === undefined) return;
      this.connected = true;
      this.sockets.connected();
      this.send();
    });
  }

  private send(): void {
    if (this.generate) this.request = fortioEchoPayload(this.o.thread, this.messages);
    this.reading = true;
    const s = this.socket!;
    const sent = this.request.length;
    // Go counts what its write took: all of it, unless the write fails.
    this.sockets.bytesSent += sent;
    s.send(this.request, (err) => {
      if (!err) return;
      this.sockets.bytesSent -= sent;
      if (s === this.socket && this.reading) this.onSendError(err as NodeJS.ErrnoException);
    });
    const next = this.queued.shift();
    if (next !== undefined) this.read(next);
  }

  private onMessage(msg: Buffer): void {
    if (this.reading) this.read(msg);
    else this.queued.push(msg);
  }

  /** One datagram read into a buffer of the payload's length, as Go's Read: a longer one is cut. */
  private read(msg: Buffer): void {
    const n = Math.min(msg.length, this.request.length);
    this.received = n;
    this.sockets.bytesReceived += n;
    if (n < this.request.length) return this.finish(SHORT_READ);
    this.finish(msg.subarray(0, n).equals(this.request) ? OK_OUTCOME : MISMATCH);
  }

  private onError(err: NodeJS.ErrnoException): void {
    if (!this.connected) return this.finish(goSocketError('dial', 'udp', undefined, this.remote, err));
    if (!this.reading) {
      this.idleError = err;
      return;
    }
    // A read that fails (the port refused, over ICMP) returns no bytes: Fortio's short read.
    this.finish(SHORT_READ);
  }

  private onSendError(err: NodeJS.ErrnoException): void {
    // It's ok for an idle socket to die once (Fortio): a new one, and the call made again on it.
    if (this.reused) return this.retryOnNewSocket();
    this.finish(goSocketError('write', 'udp', this.local(), this.remote, err));
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
    done(ok ? ECHO_OK : ECHO_FAILED, this.received, 0, this.received, outcome);
  }

  private local(): string {
    const a = this.socket!.address();
    return goAddress(a.address, a.port);
  }

  private drop(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  /** A call cut by -udp-timeout (the run's timeout for udp://): Fortio's "timeout". */
  abort(): string | undefined {
    if (this.done === undefined) return undefined;
    this.done = undefined;
    this.reading = false;
    this.drop();
    return UDP_TIMEOUT;
  }

  close(): void {
    this.done = undefined;
    this.reading = false;
    this.drop();
  }
}
