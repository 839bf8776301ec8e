/**
 * Draining HTTP/2 in Envoy's two steps (HttpConnectionManager.drainTimeout): first a GOAWAY that
 * refuses no stream already sent (last stream id 2^31-1), and the final one after drainTimeout;
 * a stream in flight completes.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('slow', (_req, res) => setTimeout(() => res.end('finished'), 600));
  port = await freePort();
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), { drainTimeout: '300ms' })], [staticCluster('app', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

test('on SIGTERM an HTTP/2 client first hears a GOAWAY that refuses nothing, and its stream in flight completes', async () => {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const goaways: number[] = [];
  session.on('goaway', (_code, lastStreamID) => goaways.push(lastStreamID));
  const body = new Promise<string>((resolve) => {
    const s = session.request({ ':path': '/slow' });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text));
    s.on('error', (e) => resolve(`error ${e.message}`));
  });
  await new Promise((r) => setTimeout(r, 150));
  const exited = proxy.stop();
  assert.equal(await body, 'finished');
  assert.equal(goaways[0], 2 ** 31 - 1);
  session.close();
  assert.equal(await exited, 0);
});

/** HTTP/2 frame types this test reads or writes. */
const HEADERS = 0x1;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

/**
 * A client that, unlike node:http2's, keeps its connection open after a GOAWAY (as gRPC and Envoy
 * clients may while idle): it only acknowledges SETTINGS and records the GOAWAYs it hears.
 */
function idleH2Client(p: number): { socket: Socket; goaways: Array<{ lastStreamId: number; at: number }>; closed: Promise<number> } {
  const socket = connect(p, '127.0.0.1');
  const goaways: Array<{ lastStreamId: number; at: number }> = [];
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(SETTINGS, 0, Buffer.alloc(0))]));
  let pending = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
      const length = pending.readUIntBE(0, 3);
      const type = pending[3]!;
      const flags = pending[4]!;
      if (type === SETTINGS && !(flags & 0x1)) socket.write(frame(SETTINGS, 0x1, Buffer.alloc(0)));
      if (type === GOAWAY) goaways.push({ lastStreamId: pending.readUInt32BE(9) & 0x7fffffff, at: Date.now() });
      pending = pending.subarray(9 + length);
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  return { socket, goaways, closed };
}

function frame(type: number, flags: number, payload: Buffer, streamId = 0): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt32BE(streamId, 5);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  return Buffer.concat([head, payload]);
}

/** A GET / on stream 1 (HPACK: indexed :method GET, :scheme http, :path /; literal :authority). */
const GET_STREAM_1 = frame(HEADERS, END_STREAM | END_HEADERS, Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x41, 9]), Buffer.from('localhost')]), 1);

test('an idle HTTP/2 connection gets the final GOAWAY and is closed when a process drain shorter than drainTimeout ends', async () => {
  const idlePort = await freePort();
  // drainTimeout stays at its 5 s default; the process drains for 1 s.
  const idleProxy = await startProxy(bootstrap([httpListener('h', idlePort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]))], [staticCluster('app', [upstream.port])]), {
    extraArgs: ['--drain-time', '1'],
  });
  try {
    const client = idleH2Client(idlePort);
    client.socket.write(GET_STREAM_1);
    // The slow upstream answers within 600 ms; then the connection is idle.
    await new Promise((r) => setTimeout(r, 900));
    const exited = idleProxy.stop();
    const closedAt = await client.closed;
    const [first, final] = client.goaways;
    assert.equal(first?.lastStreamId, 2 ** 31 - 1, 'the first GOAWAY refuses nothing');
    assert.equal(final?.lastStreamId, 1, 'the final GOAWAY names the last stream taken');
    assert.ok(closedAt - final!.at < 500, 'the idle connection closes right after the final GOAWAY');
    assert.equal(await exited, 0);
  } finally {
    await idleProxy.stop();
  }
});
