import * as grpc from '@grpc/grpc-js';
import type { CallDone, LoadConnection } from './load-connection.js';
import type { LoadOptions } from './load-options.js';
import type { LoadTarget } from './load-target.js';
import { grpcServices, HEALTH_METHOD, PING_METHOD, SERVING } from './grpc-services.js';
import { grpcErrorOutcome } from './grpc-outcome.js';
import type { CustomGrpcCall } from './grpc-reflection-client.js';
import { SocketStats } from './socket-stats.js';

/**
 * One gRPC channel (Fortio's connection, -c), shared by its -s streams. The unique option and a
 * local subchannel pool keep grpc-js from sharing one TCP connection between channels.
 */
export class GrpcChannel {
  readonly client: grpc.Client;
  /** Connections established (grpc-js shows neither its dials nor its peers); each a full TLS handshake over TLS. */
  readonly sockets: SocketStats;
  private users = 0;

  constructor(target: LoadTarget, o: LoadOptions, index: number) {
    const options: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1, 'bulwark.load-connection': index, 'grpc.primary_user_agent': 'bulwark-load' };
    if (o.sni !== undefined) options['grpc.ssl_target_name_override'] = o.sni;
    for (const [name, value] of o.headers) {
      if (name === 'host') options['grpc.default_authority'] = value;
    }
    const creds = target.tls
      ? grpc.credentials.createSsl(toBuffer(target.tls.ca), toBuffer(target.tls.key), toBuffer(target.tls.cert), { rejectUnauthorized: !o.insecure })
      : grpc.credentials.createInsecure();
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    this.client = new grpc.Client(`${host}:${target.port}`, creds, options);
    this.sockets = new SocketStats(o.histogram);
    this.watch(target.tls !== undefined);
  }

  /** Counts each time the channel becomes READY: a new connection (grpc-js does not resume TLS sessions). */
  private watch(tls: boolean): void {
    const channel = this.client.getChannel();
    const state = channel.getConnectivityState(false);
    if (state === grpc.connectivityState.SHUTDOWN) return;
    channel.watchConnectivityState(state, Infinity, () => {
      if (channel.getConnectivityState(false) === grpc.connectivityState.READY) {
        this.sockets.opened++;
        if (tls) this.sockets.handshakes++;
      }
      this.watch(tls);
    });
  }

  use(): this {
    this.users++;
    return this;
  }

  release(): void {
    if (--this.users === 0) this.client.close();
  }
}

function toBuffer(v: unknown): Buffer | null {
  return Buffer.isBuffer(v) ? v : null;
}

/** One stream of a channel: a unary health check or ping at a time, its request serialized once. */
export class GrpcLoadConnection implements LoadConnection {
  private readonly method: string;
  private readonly request: Buffer;
  private readonly decode: (b: Buffer) => { status?: number };
  private readonly metadata = new grpc.Metadata();
  private inFlight: grpc.ClientUnaryCall | undefined;
  /** Bumped per call and on abort, so a late callback of an abandoned call is ignored. */
  private seq = 0;
  private closed = false;
  /** The channel's, for its first stream; the others would count them again. */
  readonly sockets: SocketStats;

  constructor(
    private readonly channel: GrpcChannel,
    o: LoadOptions,
    reportsSockets: boolean,
    index: number,
    /** -grpc-method's call, resolved by reflection (unless -ping, which takes precedence, as in Fortio). */
    custom?: CustomGrpcCall,
  ) {
    const g = o.grpc!;
    this.sockets = reportsSockets ? channel.sockets : new SocketStats(o.histogram);
    const services = grpcServices();
    const def = g.ping ? services.ping['Ping']! : services.health['Check']!;
    // Fortio's request: seq is the thread number; the payload and delay as given.
    const message = g.ping ? { seq: index, ts: Date.now() * 1e6, payload: o.payload.toString(), delayNanos: Math.round(g.pingDelayMs * 1e6) } : { service: g.healthService };
    if (custom && !g.ping) {
      this.method = custom.path;
      this.request = custom.request;
      // Any reply to a custom method counts as Fortio counts it: SERVING.
      this.decode = () => ({ status: SERVING });
    } else {
      this.method = g.ping ? PING_METHOD : HEALTH_METHOD;
      this.request = def.requestSerialize(message);
      this.decode = g.ping ? () => ({ status: SERVING }) : (b) => def.responseDeserialize(b) as { status?: number };
    }
    for (const [name, value] of o.headers) if (name !== 'host') this.metadata.add(name, value);
  }

  call(done: CallDone): void {
    const seq = ++this.seq;
    let bytes = 0;
    const deserialize = (b: Buffer): { status?: number } => {
      bytes = b.length;
      return this.decode(b);
    };
    try {
      this.inFlight = this.channel.client.makeUnaryRequest(this.method, (b: Buffer) => b, deserialize, this.request, this.metadata, (err, reply) => {
        if (seq !== this.seq) return;
        this.inFlight = undefined;
        if (err) done(grpcErrorOutcome(err.code), 0);
        else done(reply?.status ?? 0, bytes);
      });
    } catch {
      // A closed channel throws; counted as a failed call like a refused connection.
      queueMicrotask(() => done(-1, 0));
    }
  }

  abort(): void {
    this.seq++;
    this.inFlight?.cancel();
    this.inFlight = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort();
    this.channel.release();
  }
}
