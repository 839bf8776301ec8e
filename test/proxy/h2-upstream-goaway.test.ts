/**
 * HTTP/2 upstreams that go away: a server that sends GOAWAY (here after every third stream, as a
 * max-requests-per-connection limit does) refuses the streams past its last id. Those never reached
 * it, so they go again on a fresh session without any retry policy, with their body when it had one,
 * and a session that is draining never disturbs the one that replaced it.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const STREAMS_PER_SESSION = 3;
let upstream: http2.Http2Server;
let sessions = 0;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = http2.createServer();
  upstream.on('session', () => sessions++);
  const served = new WeakMap<http2.Http2Session, number>();
  upstream.on('stream', (stream, headers) => {
    const session = stream.session!;
    const n = (served.get(session) ?? 0) + 1;
    served.set(session, n);
    // Graceful GOAWAY: streams the client opened meanwhile are refused.
    if (n === STREAMS_PER_SESSION) setImmediate(() => session.close());
    let received = 0;
    stream.on('data', (d: Buffer) => (received += d.length));
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(headers[':method'] === 'POST' ? `received ${received}` : `stream ${n}`);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  proxy = await startProxy(
    bootstrap(
      [httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'h2', timeout: '5s' } }]))],
      [staticCluster('h2', [(upstream.address() as AddressInfo).port], { http2ProtocolOptions: {} })],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

test('requests refused by a GOAWAY go again on a new session: every one succeeds', async () => {
  let ok = 0;
  for (let batch = 0; batch < 10; batch++) {
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`http://127.0.0.1:${port}/goaway/${batch}/${i}`, { signal: AbortSignal.timeout(5000) }).then(
          async (r) => (await r.text(), r.status),
          () => 0,
        ),
      ),
    );
    ok += statuses.filter((s) => s === 200).length;
  }
  assert.equal(ok, 200);
  // Streams that reach a session before its GOAWAY are still served, so a session serves at least three.
  assert.ok(sessions > 5, `the upstream went away and the proxy reconnected (${sessions} sessions)`);
});

test('requests with a body refused by a GOAWAY go again too: every POST succeeds with its whole body', async () => {
  let ok = 0;
  for (let batch = 0; batch < 10; batch++) {
    const bodies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`http://127.0.0.1:${port}/goaway-post/${batch}/${i}`, { method: 'POST', body: `payload ${batch}/${i} `.repeat(100), signal: AbortSignal.timeout(5000) }).then(
          async (r) => (r.status === 200 ? await r.text() : ''),
          () => '',
        ),
      ),
    );
    ok += bodies.filter((b, i) => b === `received ${`payload ${batch}/${i} `.length * 100}`).length;
  }
  assert.equal(ok, 200);
});
