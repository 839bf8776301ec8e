/**
 * Seeded random HTTP/2 frame sequences against an h2c listener routed to HTTP/1.1 and HTTP/2 upstreams:
 * request heads with odd and forbidden fields, DATA past the stream's state, resets, window updates,
 * SETTINGS, PING, GOAWAY, CONTINUATION and unknown frame types, on stream ids valid and not. nghttp2
 * answers most with a GOAWAY; what it lets through reaches the proxy's own stream handling. The proxy
 * must stay up, keep serving, and never log an uncaught error. Bounded by round count;
 * FUZZ_ROUNDS and FUZZ_SEED reproduce or lengthen a run.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { seededRandom } from '../support/byte-mutation.js';
import { END_HEADERS, END_STREAM, frame, FrameType, literal, PREFACE } from '../support/h2-raw.js';
import { alive } from '../support/process-alive.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
/** Connections opened at once per round. */
const PARALLEL = 3;

const NAMES = [':method', ':path', ':scheme', ':authority', ':status', ':protocol', 'content-length', 'te', 'connection', 'host', 'cookie', 'x-a', 'transfer-encoding', 'upgrade', 'keep-alive', 'grpc-timeout', 'expect', 'X-Upper', 'bad name', ''];
const VALUES = ['GET', 'POST', 'CONNECT', 'HEAD', '/', '/h2/x', '*', 'http', 'https', 'localhost', '0', '5', '-1', '99999999999999999999', 'trailers', 'close', 'websocket', '100-continue', 'a\r\nb', 'x\0y', '', ' lead', '1S', 'a'.repeat(100)];

let proxy: RunningProxy;
let port: number;
let origin: http.Server;
let h2Origin: http2.Http2Server;

before(async () => {
  origin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  h2Origin = http2.createServer();
  h2Origin.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.resume();
    stream.on('end', () => {
      if (!stream.destroyed && !stream.headersSent) stream.respond({ ':status': 200 });
      stream.end('h2 ok');
    });
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => h2Origin.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/h2/' }, route: { cluster: 'h2' } },
    { match: { prefix: '/' }, route: { cluster: 'h1' } },
  ]);
  proxy = await startProxy(
    bootstrap([httpListener('fuzz', port, routes, { codecType: 'AUTO' })], [staticCluster('h1', [(origin.address() as net.AddressInfo).port]), staticCluster('h2', [(h2Origin.address() as net.AddressInfo).port], { http2ProtocolOptions: {} })]),
  );
});

after(async () => {
  await proxy?.stop();
  origin?.close();
  h2Origin?.close();
});

/** The frames of one fuzz connection, drawn from `rand`. */
class FrameSource {
  /** The next client stream id a well-behaved client would open. */
  private nextId = 1;

  constructor(private readonly rand: () => number) {}

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  /** A request head: usually the four pseudo-headers, then a few odd fields, sometimes trailing garbage. */
  private headerBlock(): Buffer {
    const parts: Buffer[] = [];
    if (this.rand() < 0.7) {
      parts.push(literal(':method', this.pick(['GET', 'POST', 'HEAD', 'PUT', 'CONNECT', 'OPTIONS'])), literal(':path', this.pick(['/', '/a?b', '/h2/x', '/h2/y', '*', '', 'x', '/%00'])));
      parts.push(literal(':scheme', this.pick(['http', 'https', 'ftp'])), literal(':authority', this.pick(['localhost', 'a.b', '', 'x:99999'])));
    }
    for (let i = this.int(6); i > 0; i--) parts.push(literal(this.pick(NAMES), this.pick(VALUES)));
    if (this.rand() < 0.1) parts.push(Buffer.from([this.int(256), this.int(256), this.int(256)]));
    return Buffer.concat(parts);
  }

  /** A well-formed request opening the next stream, so later frames meet an open stream. */
  opening(): Buffer {
    const id = this.nextId;
    this.nextId += 2;
    return frame(FrameType.Headers, END_HEADERS | (this.rand() < 0.5 ? END_STREAM : 0), id, this.headerBlock());
  }

  /** Any frame, on a stream id that is open, idle, closed, even, or the connection's. */
  any(): Buffer {
    const id = this.pick([0, 1, 3, 5, this.nextId - 2, this.nextId, 2, 0x7fffffff]);
    const u32 = (values: number[], size: number) => {
      const b = Buffer.alloc(Math.max(size, 4));
      b.writeUInt32BE(this.pick(values) >>> 0, 0);
      return b.subarray(0, size);
    };
    switch (this.int(11)) {
      case 0: {
        const body = Buffer.alloc(this.rand() < 0.9 ? this.int(300) : this.int(20_000), 0x61);
        const padded = this.rand() < 0.2;
        return frame(FrameType.Data, (this.rand() < 0.5 ? END_STREAM : 0) | (padded ? 0x8 : 0), id, padded ? Buffer.concat([Buffer.of(this.int(256)), body]) : body);
      }
      case 1:
        return frame(FrameType.Headers, this.pick([4, 5, 0, 1, 0x24, 0x25, 8]), id, this.headerBlock());
      case 2:
        return frame(FrameType.Priority, 0, id, Buffer.from([0, 0, 0, this.int(8), this.int(256)]).subarray(0, this.pick([5, 4, 6])));
      case 3:
        return frame(FrameType.RstStream, 0, id, u32([0, 1, 2, 5, 7, 8, 11, 13], this.pick([4, 3, 5])));
      case 4: {
        const n = this.int(4);
        const b = Buffer.alloc(n * 6 + (this.rand() < 0.1 ? 1 : 0));
        for (let i = 0; i < n; i++) {
          b.writeUInt16BE(this.int(10), i * 6);
          b.writeUInt32BE(this.pick([0, 1, 100, 16383, 16384, 65535, 1 << 24, 0x7fffffff, 0xffffffff]) >>> 0, i * 6 + 2);
        }
        return frame(FrameType.Settings, this.rand() < 0.2 ? 1 : 0, this.pick([0, 0, 0, 1]), b);
      }
      case 5:
        return frame(FrameType.PushPromise, END_HEADERS, id, Buffer.alloc(4));
      case 6:
        return frame(FrameType.Ping, this.rand() < 0.3 ? 1 : 0, this.pick([0, 0, 1]), Buffer.alloc(this.pick([8, 8, 7])));
      case 7:
        return frame(FrameType.GoAway, 0, this.pick([0, 0, 1]), Buffer.concat([u32([0, 1, 3, 0x7fffffff], 4), u32([0, 1, 2, 11], 4)]));
      case 8:
        return frame(FrameType.WindowUpdate, 0, this.pick([0, id]), u32([0, 1, 65535, 0x7fffffff, 0x80000000], this.pick([4, 4, 3])));
      case 9:
        return frame(FrameType.Continuation, this.pick([4, 0]), id, this.headerBlock());
      default:
        return frame(10 + this.int(246), this.int(256), id, Buffer.alloc(this.int(20)));
    }
  }
}

/** One connection: the preface, SETTINGS, then up to 25 random frames (half after a fresh request), cut after a short while. */
function fuzzConnection(rand: () => number): Promise<void> {
  const source = new FrameSource(rand);
  const frames = [PREFACE, frame(FrameType.Settings, 0, 0)];
  for (let n = 1 + Math.floor(rand() * 25); n > 0; n--) {
    if (rand() < 0.5) frames.push(source.opening());
    frames.push(source.any());
  }
  const lingerMs = 30 + Math.floor(rand() * 100);
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(Buffer.concat(frames));
      setTimeout(() => socket.destroy(), lingerMs);
    });
    socket.on('error', () => undefined);
    socket.resume();
    socket.on('close', () => resolve());
  });
}

/** A well-formed HTTP/2 request through the proxy; its status. */
function serves(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', reject);
    const req = client.request({ ':path': path });
    req.on('response', (h) => {
      req.resume();
      req.on('end', () => {
        client.close();
        resolve(Number(h[':status']));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test(`${ROUNDS} rounds of ${PARALLEL} connections of random HTTP/2 frames: the proxy stays up and serves both upstreams`, { timeout: 120_000 }, async () => {
  const rand = seededRandom(SEED);
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(Array.from({ length: PARALLEL }, () => fuzzConnection(rand)));
    if (round % 25 === 24) {
      assert.equal(await serves('/'), 200, `round ${round} (seed ${SEED})`);
      assert.equal(await serves('/h2/after'), 200, `round ${round} (seed ${SEED})`);
    }
  }
  assert.ok(alive(proxy.child.pid!), 'the proxy is still running');
  assert.doesNotMatch(proxy.logs(), /uncaught|internal error|worker exited|Error: /i, proxy.logs().slice(-3000));
});
