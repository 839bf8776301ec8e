/**
 * HTTP/2 upstream connections and their stream limits, as Envoy's pool keeps them: a connection carries
 * at most the cluster's http2ProtocolOptions.maxConcurrentStreams and the peer's own SETTINGS limit;
 * when every connection is full another is opened, within the cluster's maxConnections breaker, and
 * past that requests wait. None is lost.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

interface Counted {
  server: http2.Http2Server;
  port: number;
  sessions: number;
  /** Most streams open at once on any one session. */
  mostPerSession: number;
}

async function countingServer(peerLimit?: number): Promise<Counted> {
  const server = http2.createServer(peerLimit === undefined ? {} : { settings: { maxConcurrentStreams: peerLimit } });
  const c: Counted = { server, port: 0, sessions: 0, mostPerSession: 0 };
  const open = new WeakMap<http2.Http2Session, number>();
  server.on('session', () => c.sessions++);
  server.on('stream', (stream) => {
    const session = stream.session!;
    const n = (open.get(session) ?? 0) + 1;
    open.set(session, n);
    c.mostPerSession = Math.max(c.mostPerSession, n);
    stream.on('close', () => open.set(session, (open.get(session) ?? 1) - 1));
    setTimeout(() => {
      stream.respond({ ':status': 200 });
      stream.end('done');
    }, 150);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  c.port = (server.address() as AddressInfo).port;
  return c;
}

let spread: Counted;
let capped: Counted;
let peerLimited: Counted;
let queued: Counted;
let proxy: RunningProxy;
let port: number;

before(async () => {
  spread = await countingServer();
  capped = await countingServer();
  peerLimited = await countingServer(1);
  queued = await countingServer(1);
  port = await freePort();
  const routes = {
    name: 'r',
    virtualHosts: [
      {
        name: 'all',
        domains: ['*'],
        routes: [
          { match: { prefix: '/spread' }, route: { cluster: 'spread' } },
          { match: { prefix: '/capped' }, route: { cluster: 'capped' } },
          { match: { prefix: '/peer' }, route: { cluster: 'peer' } },
          { match: { prefix: '/queued' }, route: { cluster: 'queued' } },
        ],
      },
    ],
  };
  proxy = await startProxy(
    bootstrap(
      [httpListener('h', port, routes)],
      [
        staticCluster('spread', [spread.port], { http2ProtocolOptions: { maxConcurrentStreams: 2 } }),
        staticCluster('capped', [capped.port], { http2ProtocolOptions: { maxConcurrentStreams: 2 }, circuitBreakers: { thresholds: [{ maxConnections: 1 }] } }),
        staticCluster('peer', [peerLimited.port], { http2ProtocolOptions: {} }),
        staticCluster('queued', [queued.port], { http2ProtocolOptions: {}, circuitBreakers: { thresholds: [{ maxConnections: 1, maxPendingRequests: 2 }] } }),
      ],
    ),
    // One process: connection limits and pools are per process.
    { concurrency: 1 },
  );
});

after(async () => {
  await proxy?.stop();
  for (const c of [spread, capped, peerLimited, queued]) await new Promise<void>((r) => c.server.close(() => r()));
});

const six = (path: string) => Promise.all(Array.from({ length: 6 }, (_, i) => fetch(`http://127.0.0.1:${port}${path}/${i}`).then(async (r) => `${r.status} ${await r.text()}`)));

test('full connections make room on new ones: six requests over a two-stream limit use more than one connection', async () => {
  assert.deepEqual(await six('/spread'), Array(6).fill('200 done'));
  assert.equal(spread.mostPerSession, 2);
  assert.ok(spread.sessions >= 2 && spread.sessions <= 3, `${spread.sessions} connections`);
});

test('maxConnections 1: the same six requests queue on one connection, two streams at a time', async () => {
  assert.deepEqual(await six('/capped'), Array(6).fill('200 done'));
  assert.equal(capped.mostPerSession, 2);
  assert.equal(capped.sessions, 1);
});

test("the peer's own SETTINGS limit counts too", async () => {
  assert.deepEqual(await six('/peer'), Array(6).fill('200 done'));
  assert.equal(peerLimited.mostPerSession, 1);
});

test('a request whose client leaves while it waits for a stream no longer counts as pending', async () => {
  // HTTP/2 to the proxy too: a cancelled stream (RST_STREAM) tells the proxy at once that its client left.
  const client = http2.connect(`http://127.0.0.1:${port}`);
  const get = (path: string): { done: Promise<string>; stream: http2.ClientHttp2Stream } => {
    const stream = client.request({ ':path': path });
    const done = new Promise<string>((resolve) => {
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('data', (d: Buffer) => (body += d.toString()));
      stream.on('close', () => resolve(status === 0 ? 'cancelled' : `${status} ${body}`));
    });
    return { done, stream };
  };
  try {
    // One stream at a time (the peer's limit), one connection, two may wait: the first holds the stream.
    const first = get('/queued/first');
    await new Promise((r) => setTimeout(r, 30));
    const left = [get('/queued/b'), get('/queued/c')];
    await new Promise((r) => setTimeout(r, 30));
    for (const l of left) l.stream.close(http2.constants.NGHTTP2_CANCEL);
    await Promise.all(left.map((l) => l.done));
    await new Promise((r) => setTimeout(r, 30));
    // The two that left freed their places: these two wait their turn instead of a 503 overflow.
    const rest = [get('/queued/d'), get('/queued/e')];
    assert.deepEqual(await Promise.all([first, ...rest].map((r) => r.done)), ['200 done', '200 done', '200 done']);
  } finally {
    client.close();
  }
});
