/**
 * haproxy 2.6 as an HTTP/2 upstream that answers some uploads before reading their body and
 * forwards others to a server that reads them. It returns no connection-level flow-control window
 * for the DATA it discards, so a few early answers can leave a connection's send window at zero for
 * good. Every later upload put on that connection, at once or after waiting for a stream, could send
 * no body and waited for the route timeout, although a fresh connection would have served it at
 * once. The proxy now retires such a connection when a request body would start on it; requests
 * without a body still use it. An upstream that answers some uploads early but returns their window
 * keeps its one connection, however short its window gets under load.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startHaproxy, type RunningHaproxy } from '../support/haproxy.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const run = promisify(execFile);

/** The route timeout: what an upload stuck on a starved connection waits for. */
const ROUTE_TIMEOUT_MS = 5_000;
const BODY_BYTES = 20_000;

const dir = mkdtempSync(join(tmpdir(), 'bulwark-h2-starved-'));
const bodyFile = join(dir, 'body.bin');
let reader: TestUpstream;
/** An HTTP/2 upstream that refuses some uploads before reading them, as an authorization check would, and returns their window. */
let refusing: http2.Http2Server;
let upstream: RunningHaproxy;
let proxy: RunningProxy;
let port: number;

before(async () => {
  // 20 KB: more than one DATA frame, less than a flow-control window.
  writeFileSync(bodyFile, Buffer.alloc(BODY_BYTES, 0x61));
  reader = await startUpstream('reader', (req, res, body) => {
    if (req.url!.includes('/slow')) setTimeout(() => res.end('slow'), 500);
    else res.end(`read ${body.length} bytes`);
  });
  refusing = http2.createServer();
  refusing.on('stream', (stream, headers) => {
    if (String(headers[':path']).endsWith('/refused')) {
      stream.respond({ ':status': 403 });
      stream.end();
      return;
    }
    let read = 0;
    stream.on('data', (chunk: Buffer) => (read += chunk.length));
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(`read ${read} bytes`);
    });
  });
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  const upstreamPort = await freePort();
  // h2c with prior knowledge; an /early path is answered at once without reading the body, anything
  // else goes to a server that reads it.
  upstream = await startHaproxy(
    [
      `frontend fe\n  bind 127.0.0.1:${upstreamPort} proto h2`,
      '  http-request return status 200 content-type text/plain string "answered early" if { path_end /early }',
      '  default_backend reader',
      `backend reader\n  server r 127.0.0.1:${reader.port}`,
    ].join('\n'),
    upstreamPort,
  );
  port = await freePort();
  const timeout = `${ROUTE_TIMEOUT_MS / 1000}s`;
  const clusters = [
    staticCluster('haproxy', [upstreamPort], { http2ProtocolOptions: {} }),
    staticCluster('refusing', [(refusing.address() as AddressInfo).port], { http2ProtocolOptions: {} }),
    // One connection of four streams: requests queue for it.
    staticCluster('single', [upstreamPort], {
      http2ProtocolOptions: { maxConcurrentStreams: 4 },
      circuitBreakers: { thresholds: [{ maxConnections: 1 }] },
    }),
  ];
  const routes = routeConfig([
    { match: { prefix: '/single/' }, route: { cluster: 'single', timeout } },
    { match: { prefix: '/refusing/' }, route: { cluster: 'refusing', timeout } },
    { match: { prefix: '/' }, route: { cluster: 'haproxy', timeout } },
  ]);
  // One worker: the uploads must meet the connection the early answers starved.
  proxy = await startProxy(bootstrap([httpListener('h', port, routes)], clusters), { concurrency: 1 });
});

after(async () => {
  await proxy?.stop();
  await upstream?.stop();
  await reader?.close();
  refusing?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `count` uploads of BODY_BYTES under `path` at once; asserts each was read whole and returns how long they took. */
async function uploads(path: string, count: number): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: count }, (_, i) => curl(['--data-binary', `@${bodyFile}`, `http://127.0.0.1:${port}${path}${i}`], ROUTE_TIMEOUT_MS * 4)),
  );
  const elapsed = performance.now() - started;
  for (const res of results) assert.equal(`${res.status} ${res.body}`, `200 read ${BODY_BYTES} bytes`, proxy.logs().slice(-2000));
  return elapsed;
}

/** A host statistic of `cluster` from the admin /clusters page. */
async function clusterStat(cluster: string, stat: string): Promise<string | undefined> {
  const { body } = await proxy.get('/clusters');
  return new RegExp(`^${cluster}::[^:]+:\\d+::${stat}::(.*)$`, 'm').exec(body)?.[1];
}

test('uploads after early answers have exhausted the connection window are served promptly', async () => {
  // Enough early answers to use up the 64 KB connection window several times over.
  const { stdout } = await run('h2load', ['-n', '24', '-c', '1', '-m', '4', '-d', bodyFile, `http://127.0.0.1:${port}/early`], { timeout: 30_000 });
  assert.match(stdout, /status codes: 24 2xx/, stdout);
  const elapsed = await uploads('/upload/', 3);
  // Under the route timeout: none waited for it (the 200s above say the same; this names the time).
  assert.ok(elapsed < ROUTE_TIMEOUT_MS, `the uploads took ${Math.round(elapsed)} ms`);
  // A request without a body is served too, and the retired connections are gone.
  const get = await curl([`http://127.0.0.1:${port}/after`]);
  assert.equal(`${get.status} ${get.body}`, '200 read 0 bytes');
  assert.equal(await clusterStat('haproxy', 'cx_active'), '1');
});

test('uploads queued for a starved connection at maxConnections go to a new connection', async () => {
  // Early answers on four streams at once use up the connection window.
  const { stdout } = await run('h2load', ['-n', '4', '-c', '1', '-m', '4', '-d', bodyFile, `http://127.0.0.1:${port}/single/early`], { timeout: 30_000 });
  assert.match(stdout, /status codes: 4 2xx/, stdout);
  // Requests without a body fill the connection's streams while the uploads queue for it.
  const slow = Promise.all([1, 2, 3, 4].map((i) => curl([`http://127.0.0.1:${port}/single/slow/${i}`])));
  await new Promise((r) => setTimeout(r, 100));
  const elapsed = await uploads('/single/upload/', 2);
  for (const res of await slow) assert.equal(res.status, 200);
  // Under the route timeout: none waited for it (the 200s above say the same; this names the time).
  assert.ok(elapsed < ROUTE_TIMEOUT_MS, `the uploads took ${Math.round(elapsed)} ms`);
  assert.equal(await clusterStat('single', 'cx_active'), '1');
});


test('uploads to an upstream that refuses some early but returns their window stay on one connection', async () => {
  // 200 KB each, on 8 streams at once: the 64 KB connection window is often short, and every tenth
  // upload is refused before it is read. Its window comes back, and the connection is kept.
  const largeBody = join(dir, 'large.bin');
  writeFileSync(largeBody, Buffer.alloc(200_000, 0x62));
  const targets = Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:${port}/refusing/${i}/${i === 9 ? 'refused' : 'read'}`);
  const { stdout } = await run('h2load', ['-n', '400', '-c', '2', '-m', '8', '-d', largeBody, ...targets], { timeout: 60_000 });
  assert.match(stdout, /status codes: 360 2xx, 0 3xx, 40 4xx, 0 5xx/, stdout);
  assert.equal(await clusterStat('refusing', 'cx_total'), '1');
});
