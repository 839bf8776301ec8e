/**
 * The access log's response_code_details and the local reply for each way an upstream fails, in
 * Envoy's exact words (current Envoy's router: `upstream_reset_before_response_started{reason|transport
 * failure}`, blanks as '_'), since Istio users grep their logs and runbooks for these strings.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { scratchPath } from '../support/scratch-path.js';

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
const accessLog = scratchPath('upstream-failure-details.log');
let raw: net.Server;
let h2: http2.Http2Server;
let proxy: RunningProxy;
let port: number;
/** Sockets of requests the raw upstream holds unanswered (the breaker test's first request). */
const held: net.Socket[] = [];
/** A process that listens and never accepts, and the connections that fill its accept queue. */
let blackhole: ChildProcess;
const queued: net.Socket[] = [];

/** An HTTP/1.1 upstream whose answer depends on the request line: reset, malformed, or held. */
function rawUpstream(): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (chunk) => {
      const line = chunk.toString('latin1').split('\r\n')[0]!;
      if (line.includes('/reset')) socket.resetAndDestroy();
      else if (line.includes('/malformed')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n');
      else held.push(socket);
    });
  });
}

/**
 * A port whose SYNs go unanswered: a child listens with a backlog of 1 and blocks its event loop, so
 * nothing is accepted; once a few connections fill its accept queue the kernel drops new SYNs.
 */
async function unansweredPort(): Promise<number> {
  const blackholePort = await freePort();
  const script = `require('net').createServer().listen({ port: ${blackholePort}, host: '127.0.0.1', backlog: 1 }, () => { console.log('up'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); });`;
  blackhole = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => blackhole.stdout!.once('data', r));
  for (let i = 0; i < 4; i++) {
    const s = net.connect(blackholePort, '127.0.0.1');
    s.on('error', () => undefined);
    queued.push(s);
  }
  await new Promise((r) => setTimeout(r, 100));
  return blackholePort;
}

before(async () => {
  raw = rawUpstream();
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    stream.close(String(headers[':path']) === '/h2-refused' ? NGHTTP2_REFUSED_STREAM : NGHTTP2_INTERNAL_ERROR);
  });
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  const closedPort = await freePort();
  const silentPort = await unansweredPort();
  const rawPort = (raw.address() as AddressInfo).port;
  const h2Port = (h2.address() as AddressInfo).port;
  port = await freePort();
  const routes = [
    { match: { prefix: '/dead-h2' }, route: { cluster: 'dead-h2' } },
    { match: { prefix: '/silent' }, route: { cluster: 'silent' } },
    { match: { prefix: '/dead' }, route: { cluster: 'dead' } },
    { match: { prefix: '/h2-' }, route: { cluster: 'h2' } },
    { match: { prefix: '/held' }, route: { cluster: 'limited', timeout: '30s' } },
    { match: { prefix: '/' }, route: { cluster: 'raw' } },
  ];
  proxy = await startProxy(
    bootstrap(
      [httpListener('h', port, routeConfig(routes), { accessLog: [{ typedConfig: { path: accessLog } }] })],
      [
        staticCluster('dead', [closedPort]),
        staticCluster('dead-h2', [closedPort], { http2ProtocolOptions: {} }),
        staticCluster('silent', [silentPort], { connectTimeout: '0.25s' }),
        staticCluster('raw', [rawPort]),
        staticCluster('h2', [h2Port], { http2ProtocolOptions: {} }),
        staticCluster('limited', [rawPort], { circuitBreakers: { thresholds: [{ maxRequests: 1 }] } }),
      ],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  for (const s of [...held, ...queued]) s.destroy();
  blackhole?.kill();
  raw?.close();
  h2?.close();
});

async function logLine(path: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    try {
      const line = readFileSync(accessLog, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.path === path);
      if (line) return line;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no access log line for ${path}`);
}

/**
 * Asserts the status, the reply body, and the access log's flags, details and transport failure
 * reason (null when there is none) of one request to `path`.
 */
async function expectFailure(path: string, status: number, body: string, flags: string, details: string, transportFailure: string | null = null): Promise<void> {
  const r = await curl([`http://127.0.0.1:${port}${path}`]);
  assert.equal(r.status, status);
  assert.equal(r.body, body);
  const line = await logLine(path);
  assert.equal(line.response_flags, flags);
  assert.equal(line.response_code_details, details);
  assert.equal(line.upstream_transport_failure_reason, transportFailure);
}

test('a closed port: remote connection failure, with the connect error as the transport failure reason', async () => {
  const body = 'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused';
  const details = 'upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}';
  await expectFailure('/dead', 503, body, 'UF', details, 'delayed_connect_error:_Connection_refused');
  // The same words towards an HTTP/2 cluster, whose connection reports its error to every request waiting on it.
  await expectFailure('/dead-h2', 503, body, 'UF', details, 'delayed_connect_error:_Connection_refused');
});

test('a connect that times out: connection timeout, with no transport failure reason', async () => {
  await expectFailure(
    '/silent',
    503,
    'upstream connect error or disconnect/reset before headers. reset reason: connection timeout',
    'UF',
    'upstream_reset_before_response_started{connection_timeout}',
  );
});

test('an upstream that resets the connection under a request: connection termination', async () => {
  await expectFailure(
    '/reset',
    503,
    'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
    'UC',
    'upstream_reset_before_response_started{connection_termination}',
  );
});

test('a response that is not HTTP: 502, protocol error', async () => {
  await expectFailure(
    '/malformed',
    502,
    'upstream connect error or disconnect/reset before headers. reset reason: protocol error',
    'UPE',
    'upstream_reset_before_response_started{protocol_error}',
  );
});

test('an HTTP/2 upstream that resets the stream: remote reset; that refuses it every time: remote refused stream reset', async () => {
  await expectFailure(
    '/h2-reset',
    503,
    'upstream connect error or disconnect/reset before headers. reset reason: remote reset',
    'UR',
    'upstream_reset_before_response_started{remote_reset}',
  );
  // A refused stream goes again by itself (the upstream did no work); the last refusal is the answer.
  await expectFailure(
    '/h2-refused',
    503,
    'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote refused stream reset',
    'UR',
    'upstream_reset_before_response_started{remote_refused_stream_reset}',
  );
});

test('a circuit breaker that refuses the request: overflow', async () => {
  const first = curl([`http://127.0.0.1:${port}/held-first`]);
  for (let i = 0; i < 100 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(held.length, 1, 'the first request reached the upstream');
  const r = await curl([`http://127.0.0.1:${port}/held-second`]);
  assert.equal(r.status, 503);
  assert.equal(r.headers['x-envoy-overloaded'], 'true');
  assert.equal(r.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
  const line = await logLine('/held-second');
  assert.equal(line.response_flags, 'UO');
  assert.equal(line.response_code_details, 'upstream_reset_before_response_started{overflow}');
  held[0]!.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
  assert.equal((await first).status, 200);
});
