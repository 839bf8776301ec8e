import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { EchoParamError, echoBehaviour, MAX_DELAY_MS } from './echo-params.js';
import { addReflection } from './grpc-reflection-server.js';
import { grpcServices, SERVING } from './grpc-services.js';
import { listenTcpEcho } from './tcp-echo-listener.js';
import { listenUdpEcho } from './udp-echo-listener.js';
import { replaying } from '../util/replaying-stream.js';

export interface EchoOptions {
  address: string;
  port: number;
  /** -1 = no gRPC server; 0 = any free port. */
  grpcPort: number;
  /** Fortio's TCP and UDP echo servers (-tcp-port, -udp-port): -1 = none; 0 = any free port. */
  tcpPort?: number;
  udpPort?: number;
  certFile?: string;
  keyFile?: string;
}

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n');

/**
 * The echo workload: HTTP/1.1 and h2c on one port (told apart by the HTTP/2 preface), or HTTP/1.1
 * and HTTP/2 over TLS with ALPN, plus Fortio's gRPC ping and health services. It echoes the request body unless
 * `size` asks for a generated one, and obeys delay/status/close/header query parameters.
 */
export class EchoServer {
  requests = 0;
  readonly byStatus = new Map<number, number>();
  private server: net.Server | undefined;
  private grpcServer: grpc.Server | undefined;
  private tcpEcho: net.Server | undefined;
  private udpEcho: dgram.Socket | undefined;
  port = 0;
  grpcPort = 0;
  tcpPort = 0;
  udpPort = 0;

  async start(o: EchoOptions): Promise<void> {
    const handler = (req: Req, res: Res): void => this.handle(req, res);
    let server: net.Server;
    if (o.certFile && o.keyFile) {
      server = http2.createSecureServer({ cert: readFileSync(o.certFile), key: readFileSync(o.keyFile), allowHTTP1: true }, handler);
    } else {
      const h1 = http.createServer({ keepAliveTimeout: 65_000 }, handler);
      const h2c = http2.createServer({}, handler);
      server = net.createServer((socket) => {
        socket.setNoDelay(true);
        socket.once('data', (first: Buffer) => {
          const isH2 = first.subarray(0, H2_PREFACE.length).equals(H2_PREFACE.subarray(0, Math.min(first.length, H2_PREFACE.length)));
          if (isH2) {
            // node:http2 reads the socket's handle directly and would miss bytes already read, so
            // it gets a stream that replays them first.
            h2c.emit('connection', replaying(socket, first));
            return;
          }
          socket.pause();
          socket.unshift(first);
          h1.emit('connection', socket);
          socket.resume();
        });
        socket.on('error', () => socket.destroy());
      });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.address, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    if (o.grpcPort >= 0) await this.startGrpc(o);
    if ((o.tcpPort ?? -1) >= 0) ({ server: this.tcpEcho, port: this.tcpPort } = await listenTcpEcho(o.address, o.tcpPort!));
    if ((o.udpPort ?? -1) >= 0) ({ socket: this.udpEcho, port: this.udpPort } = await listenUdpEcho(o.address, o.udpPort!));
  }

  private async startGrpc(o: EchoOptions): Promise<void> {
    const services = grpcServices();
    const server = new grpc.Server();
    server.addService(services.ping, {
      Ping: (call: grpc.ServerUnaryCall<PingMessage, PingMessage>, cb: grpc.sendUnaryData<PingMessage>) => {
        this.count(200);
        const m = call.request;
        const delayMs = Math.min(Number(m.delayNanos ?? 0) / 1e6, MAX_DELAY_MS);
        const reply = (): void => cb(null, { seq: m.seq, ts: Date.now() * 1e6, payload: m.payload, delayNanos: m.delayNanos });
        if (delayMs > 0) setTimeout(reply, delayMs);
        else reply();
      },
    });
    // As Fortio's ping server: the server as a whole ("") and its "ping" service are SERVING.
    server.addService(services.health, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, { status: number }>, cb: grpc.sendUnaryData<{ status: number }>) => {
        this.count(200);
        const name = call.request.service;
        if (name === '' || name === 'ping') cb(null, { status: SERVING });
        else cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${name}` });
      },
    });
    // As Fortio's ping server, reflection says what it serves (for -grpc-method and grpcurl).
    addReflection(server, services);
    const creds = o.certFile && o.keyFile ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(o.certFile), private_key: readFileSync(o.keyFile) }]) : grpc.ServerCredentials.createInsecure();
    this.grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync(`${o.address}:${o.grpcPort}`, creds, (err, port) => (err ? reject(err) : resolve(port))));
    this.grpcServer = server;
  }

  private count(status: number): void {
    this.requests++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  private handle(req: Req, res: Res): void {
    const url = new URL(req.url ?? '/', 'http://echo');
    if (url.pathname === '/debug/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ requests: this.requests, byStatus: Object.fromEntries(this.byStatus) }));
      return;
    }
    let b;
    try {
      b = echoBehaviour(url.searchParams);
    } catch (err) {
      if (!(err instanceof EchoParamError)) throw err;
      this.count(400);
      req.resume();
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`${err.message}\n`);
      return;
    }
    this.count(b.status);
    const respond = (): void => {
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
      for (const [name, value] of b.headers) headers[name] = value;
      if (b.close && req.httpVersionMajor === 1) headers['connection'] = 'close';
      const gzip = b.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      if (gzip) headers['content-encoding'] = 'gzip';
      if (b.size !== undefined) {
        req.resume();
        const body = gzip ? zlib.gzipSync(generated(b.size)) : generated(b.size);
        headers['content-length'] = String(body.length);
        res.writeHead(b.status, headers);
        res.end(body);
        return;
      }
      res.writeHead(b.status, headers);
      // Streams the request body straight back, with backpressure both ways.
      const body = gzip ? (req as NodeJS.ReadableStream).pipe(zlib.createGzip()) : (req as NodeJS.ReadableStream);
      body.pipe(res as unknown as NodeJS.WritableStream);
    };
    if (b.delayMs > 0) setTimeout(respond, b.delayMs);
    else respond();
  }

  async close(): Promise<void> {
    this.grpcServer?.forceShutdown();
    this.tcpEcho?.close();
    this.udpEcho?.close();
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      if ('closeAllConnections' in s) (s as http.Server).closeAllConnections();
      setTimeout(resolve, 1000).unref();
    });
  }
}

interface PingMessage {
  seq: number;
  ts: number;
  payload: string;
  delayNanos: number;
}

let generatedCache = Buffer.alloc(0);

/** A body of `size` bytes, cut from one cached buffer (no per-request fill). */
function generated(size: number): Buffer {
  if (generatedCache.length < size) {
    generatedCache = Buffer.alloc(Math.max(size, 64 * 1024));
    for (let i = 0; i < generatedCache.length; i++) generatedCache[i] = 97 + (i % 26);
  }
  return generatedCache.subarray(0, size);
}
