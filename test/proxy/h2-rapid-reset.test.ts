/**
 * HTTP/2 "rapid reset" (CVE-2023-44487): a client that opens streams and cancels them at once makes
 * the proxy start an upstream request per stream for two frames of its own. Such a connection is
 * closed with GOAWAY ENHANCE_YOUR_CALM; ordinary clients, including ones that cancel now and then,
 * are not.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { PrematureResetGuard } from '../../src/proxy/http/premature-resets.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

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

test('the guard trips on 250 early resets, or on half of the streams past 500', () => {
  const burst = new PrematureResetGuard();
  let tripped = -1;
  for (let i = 1; i <= 400 && tripped < 0; i++) if (burst.onStreamClosed(true, 1)) tripped = i;
  assert.equal(tripped, 250);
  const mixed = new PrematureResetGuard();
  // Two completed streams per reset: a third of the streams reset, never half.
  for (let i = 0; i < 3000; i++) assert.equal(mixed.onStreamClosed(i % 3 === 0, 1), false);
  const slowCancels = new PrematureResetGuard();
  // Resets after a stream lived past a second are a client changing its mind, not an attack.
  for (let i = 0; i < 3000; i++) assert.equal(slowCancels.onStreamClosed(true, 1500), false);
});

/** Opens and cancels `count` streams on one session; resolves with the GOAWAY code seen, if any. */
function rapidReset(count: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    let goaway: number | undefined;
    let sent = 0;
    client.on('goaway', (code: number) => (goaway = code));
    client.on('error', () => undefined);
    client.on('close', () => resolve(goaway));
    const burst = (): void => {
      for (let i = 0; i < 50 && sent < count && !client.destroyed && !client.closed; i++, sent++) {
        try {
          const s = client.request({ ':path': `/reset/${sent}` });
          s.on('error', () => undefined);
          s.close(http2.constants.NGHTTP2_CANCEL);
        } catch {
          sent = count;
        }
      }
      if (sent < count && !client.destroyed && !client.closed) setImmediate(burst);
      else setTimeout(() => client.destroy(), 1000);
    };
    client.on('connect', burst);
  });
}

test('a connection that opens and cancels streams in a loop gets GOAWAY ENHANCE_YOUR_CALM', async () => {
  const code = await rapidReset(3000);
  assert.equal(code, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  const after = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${port}/still-serving`]);
  assert.equal(after.status, 200);
});

test('a client that sends many requests on one connection is not cut off', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  let ok = 0;
  for (let batch = 0; batch < 12; batch++) {
    const statuses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        new Promise<number>((resolve) => {
          const s = client.request({ ':path': `/many/${batch}/${i}` });
          // Every third stream is cancelled once its response has started: ordinary client behaviour.
          s.on('response', (h) => {
            if (i % 3 === 0) s.close(http2.constants.NGHTTP2_CANCEL);
            resolve(Number(h[':status']));
          });
          s.on('error', () => resolve(0));
          s.resume();
        }),
      ),
    );
    ok += statuses.filter((s) => s === 200).length;
  }
  assert.equal(ok, 600);
  assert.equal(client.destroyed || client.closed, false);
  client.close();
});

/** One HTTP/2 frame: 9-byte header (length, type, flags, stream id) and payload. */
function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

test('a burst of opened-and-reset streams in one write is sent away, and the streams queued behind the GOAWAY do not crash the proxy', async () => {
  // GET / on http with :authority "localhost": static-table fields plus one literal without indexing.
  const block = Buffer.from([0x82, 0x84, 0x86, 0x01, 0x09, ...Buffer.from('localhost')]);
  const frames: Buffer[] = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))];
  const cancel = Buffer.from([0, 0, 0, 8]);
  for (let i = 0; i < 400; i++) {
    const id = 1 + 2 * i;
    frames.push(frame(1, 0x5, id, block), frame(3, 0, id, cancel));
  }
  const { connect } = await import('node:net');
  const received = await new Promise<Buffer>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.concat(frames)));
    const got: Buffer[] = [];
    socket.on('data', (d) => got.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(got)));
    setTimeout(() => socket.destroy(), 3000);
  });
  // Walk the server's frames for a GOAWAY (type 7): its error code is the 4 bytes after last-stream-id.
  let goaway: number | undefined;
  for (let p = 0; p + 9 <= received.length; ) {
    const length = received.readUIntBE(p, 3);
    if (received[p + 3] === 7) goaway = received.readUInt32BE(p + 13);
    p += 9 + length;
  }
  assert.equal(goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  assert.equal(proxy.child.exitCode, null);
  assert.equal((await curl(['--http2-prior-knowledge', `http://127.0.0.1:${port}/after-burst`])).status, 200);
});
