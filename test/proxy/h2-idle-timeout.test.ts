/**
 * The connection idle timeout (commonHttpProtocolOptions.idleTimeout) on HTTP/2, as Envoy times it:
 * a session with no open stream for that long is sent GOAWAY and closed; a stream that is open but
 * silent (a slow upstream) keeps its session, and the clock starts when the last stream ends.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const IDLE_MS = 600;
let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('slow', (req, res) => {
    // Silent for longer than the idle timeout before it answers.
    const delay = req.url === '/slow' ? IDLE_MS * 2 : 0;
    setTimeout(() => res.end('done'), delay);
  });
  port = await freePort();
  const hcm = { commonHttpProtocolOptions: { idleTimeout: `${IDLE_MS}ms` } };
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'slow' } }]), hcm)], [staticCluster('slow', [upstream.port])]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

/** Connects and records when the proxy's GOAWAY and the connection's end arrive (ms since connecting). */
function connect(): { client: http2.ClientHttp2Session; goawayAt: Promise<number>; closedAt: Promise<number> } {
  const start = Date.now();
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  const goawayAt = new Promise<number>((resolve) => client.once('goaway', () => resolve(Date.now() - start)));
  const closedAt = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now() - start)));
  return { client, goawayAt, closedAt };
}

function get(client: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string; at: number }> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const s = client.request({ ':path': path });
    let status = 0;
    let body = '';
    s.on('response', (h) => (status = Number(h[':status'])));
    s.setEncoding('utf8');
    s.on('data', (d: string) => (body += d));
    s.on('error', reject);
    s.on('end', () => resolve({ status, body, at: Date.now() - start }));
  });
}

test('an idle HTTP/2 session is sent GOAWAY and closed once the idle timeout passes', async () => {
  const { client, goawayAt, closedAt } = connect();
  const r = await get(client, '/quick');
  assert.equal(r.status, 200);
  const closed = await Promise.race([closedAt, new Promise<number>((resolve) => setTimeout(() => resolve(-1), IDLE_MS * 5))]);
  assert.ok(closed > 0, 'the idle session was closed');
  assert.ok((await goawayAt) >= IDLE_MS * 0.9, 'not before the idle timeout');
  client.destroy();
});

test('an open but silent stream keeps its session; the idle clock starts when it ends', async () => {
  const { client, goawayAt, closedAt } = connect();
  let goaway = -1;
  void goawayAt.then((t) => (goaway = t));
  const r = await get(client, '/slow');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'done');
  assert.equal(goaway, -1, 'no GOAWAY while the stream was open, though it was silent past the idle timeout');
  const closed = await Promise.race([closedAt, new Promise<number>((resolve) => setTimeout(() => resolve(-1), IDLE_MS * 5))]);
  assert.ok(closed > 0, 'the session closed once idle');
  assert.ok(closed >= r.at + IDLE_MS * 0.9, `closed ${closed} ms after connecting, the stream ended at ${r.at} ms`);
  client.destroy();
});
