/**
 * Malformed HTTP/2 from a client, written frame by frame on a raw socket (no HTTP/2 library would
 * send these). A stream-level fault gets RST_STREAM and the connection goes on; a connection-level
 * fault gets GOAWAY. Either way nothing malformed reaches the upstream, and the proxy keeps serving.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { END_HEADERS, END_STREAM, FrameType as Type, PREFACE, frame, literal, readFrames, requestBlock } from '../support/h2-raw.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('u');
  port = await freePort();
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'u' } }]))], [staticCluster('u', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

interface Outcome {
  /** Error code of each RST_STREAM, by stream id. */
  resets: Map<number, number>;
  /** Error code of the GOAWAY, if one came. */
  goaway: number | undefined;
  /** Streams that got a HEADERS frame back (a response). */
  answered: Set<number>;
}

/** Sends the preface, an empty SETTINGS and `frames`, then collects what the proxy answers for `ms`, or until `enough` says so. */
function exchange(frames: Buffer[], ms = 1500, enough: (o: Outcome) => boolean = () => false): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { resets: new Map(), goaway: undefined, answered: new Set() };
    const socket = net.connect(port, '127.0.0.1');
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = readFrames(Buffer.concat([buf, chunk]), (type, flags, stream, payload) => {
        if (type === Type.RstStream) out.resets.set(stream, payload.readUInt32BE(0));
        else if (type === Type.GoAway) out.goaway = payload.readUInt32BE(4);
        else if (type === Type.Headers) out.answered.add(stream);
        else if (type === Type.Settings && (flags & 0x1) === 0) socket.write(frame(Type.Settings, 0x1, 0));
      });
      if (enough(out)) done();
    });
    socket.on('error', () => undefined);
    const done = (): void => {
      socket.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.write(Buffer.concat([PREFACE, frame(Type.Settings, 0, 0), ...frames]));
  });
}

const PROTOCOL_ERROR = 1;
const FRAME_SIZE_ERROR = 6;
const COMPRESSION_ERROR = 9;

async function stillServes(): Promise<void> {
  const r = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${port}/alive`]);
  assert.equal(r.status, 200);
}

/** Stream-level faults: the stream is reset, never forwarded, and a good stream after it on the same connection is answered. */
const streamFaults: Array<[string, Buffer]> = [
  ['an upper-case header name', requestBlock('/bad/upper', literal('X-Upper', 'a'))],
  ['a connection-specific header', requestBlock('/bad/connection', literal('connection', 'keep-alive'))],
  ['te other than trailers', requestBlock('/bad/te', literal('te', 'gzip'))],
  ['no :path', Buffer.concat([Buffer.from([0x82, 0x86]), literal(':authority', 'localhost')])],
  ['a pseudo-header after a regular one', Buffer.concat([Buffer.from([0x82, 0x86]), literal('x-a', 'b'), literal(':path', '/bad/order'), literal(':authority', 'localhost')])],
  ['an unknown pseudo-header', requestBlock('/bad/pseudo', literal(':protocol-x', 'y'))],
];

for (const [name, block] of streamFaults) {
  test(`${name}: RST_STREAM PROTOCOL_ERROR, nothing forwarded, the connection goes on`, async () => {
    const before = upstream.requests.length;
    const out = await exchange(
      [frame(Type.Headers, END_HEADERS | END_STREAM, 1, block), frame(Type.Headers, END_HEADERS | END_STREAM, 3, requestBlock('/good/after'))],
      1500,
      (o) => o.resets.has(1) && o.answered.has(3),
    );
    assert.equal(out.resets.get(1), PROTOCOL_ERROR, `resets: ${JSON.stringify([...out.resets])} goaway: ${out.goaway}`);
    assert.ok(!out.answered.has(1));
    assert.ok(out.answered.has(3), 'the next stream is served');
    assert.deepEqual(
      upstream.requests.slice(before).map((r) => r.url),
      ['/good/after'],
    );
  });
}

test('a header value with a CR, LF or NUL never reaches the upstream (nghttp2 drops the field)', async () => {
  const before = upstream.requests.length;
  const out = await exchange([
    frame(Type.Headers, END_HEADERS | END_STREAM, 1, requestBlock('/bad/lf', literal('x-a', 'b\nc'))),
    frame(Type.Headers, END_HEADERS | END_STREAM, 3, requestBlock('/bad/cr', literal('x-a', 'b\rx-b: c'))),
    frame(Type.Headers, END_HEADERS | END_STREAM, 5, requestBlock('/bad/nul', literal('x-a', 'b\0c'))),
  ], 1500, (o) => o.answered.size + o.resets.size === 3);
  assert.equal(out.goaway, undefined);
  for (const r of upstream.requests.slice(before)) {
    assert.equal(r.headers['x-a'], undefined, r.url);
    assert.equal(r.headers['x-b'], undefined, r.url);
  }
  await stillServes();
});

test('a body shorter than its content-length: the stream is reset and the upstream request never completes as if whole', async () => {
  const before = upstream.requests.length;
  const out = await exchange([
    frame(Type.Headers, END_HEADERS, 1, Buffer.concat([Buffer.from([0x83, 0x86]), literal(':path', '/bad/short'), literal(':authority', 'localhost'), literal('content-length', '10')])),
    frame(Type.Data, END_STREAM, 1, Buffer.from('abc')),
  ], 1500, (o) => o.resets.has(1));
  assert.equal(out.resets.get(1), PROTOCOL_ERROR);
  assert.ok(!upstream.requests.slice(before).some((r) => r.url === '/bad/short'));
  await stillServes();
});

/** Connection-level faults: GOAWAY with the right code; the proxy serves the next connection. */
const connectionFaults: Array<[string, Buffer[], number]> = [
  ['DATA on stream 0', [frame(Type.Data, 0, 0, Buffer.from('x'))], PROTOCOL_ERROR],
  ['HEADERS on an even (server) stream id', [frame(Type.Headers, END_HEADERS | END_STREAM, 2, requestBlock('/even'))], PROTOCOL_ERROR],
  ['a connection WINDOW_UPDATE of 0', [frame(Type.WindowUpdate, 0, 0, Buffer.from([0, 0, 0, 0]))], PROTOCOL_ERROR],
  ['an HPACK index beyond both tables', [frame(Type.Headers, END_HEADERS | END_STREAM, 1, Buffer.from([0xff, 0x80, 0x01]))], COMPRESSION_ERROR],
  ['SETTINGS_ENABLE_PUSH 2', [frame(Type.Settings, 0, 0, Buffer.from([0, 2, 0, 0, 0, 2]))], PROTOCOL_ERROR],
  ['a frame beyond SETTINGS_MAX_FRAME_SIZE', [frame(Type.Data, 0, 1, Buffer.alloc(20000))], FRAME_SIZE_ERROR],
];

for (const [name, frames, code] of connectionFaults) {
  test(`${name}: GOAWAY ${code}, and the proxy serves the next connection`, async () => {
    // Done at the GOAWAY; that the connection then closes is checked in h2-conformance.test.ts.
    const out = await exchange(frames, 1500, (o) => o.goaway !== undefined);
    assert.equal(out.goaway, code, `goaway: ${out.goaway} resets: ${JSON.stringify([...out.resets])}`);
    await stillServes();
  });
}

test('random bytes, and valid frames with a few bytes changed, never take the proxy down', async () => {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 25; i++) {
    const junk = Buffer.alloc(9 + (random() % 200));
    for (let j = 0; j < junk.length; j++) junk[j] = random() & 0xff;
    await exchange([junk], 100);
  }
  // A valid POST with a body, with a few of its bytes changed: frames that nearly parse.
  const valid = Buffer.concat([
    frame(Type.Headers, END_HEADERS, 1, Buffer.concat([Buffer.from([0x83, 0x86]), literal(':path', '/fuzz'), literal(':authority', 'localhost'), literal('content-length', '5')])),
    frame(Type.Data, END_STREAM, 1, Buffer.from('hello')),
    frame(Type.WindowUpdate, 0, 0, Buffer.from([0, 0, 1, 0])),
  ]);
  for (let i = 0; i < 40; i++) {
    const mutated = Buffer.from(valid);
    for (let k = 0; k < 1 + (random() % 3); k++) mutated[random() % mutated.length] = random() & 0xff;
    await exchange([mutated], 100);
  }
  await stillServes();
});
