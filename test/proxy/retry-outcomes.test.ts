/**
 * What retries do when upstreams misbehave, as Envoy's router does it: which failures each retryOn
 * condition covers, and what the response, its flags and the metrics say once retries run out.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

let slow: TestUpstream;
/** Always 503. */
let busy: TestUpstream;
/** Answers the first call to each URL with a 503 whose body never ends, later calls with 200. */
let endless: TestUpstream;
/** The same over HTTP/2. */
let endlessH2: http2.Http2Server;
/** Closes each connection as soon as the request arrives, or (under /mid) after the head and part of the body. */
let closer: net.Server;
let proxy: RunningProxy;
let port: number;
let deadPort: number;
let accessLog: string;

before(async () => {
  slow = await startUpstream('slow', (_req, res) => {
    setTimeout(() => {
      res.writeHead(200);
      res.end('late');
    }, 800);
  });
  busy = await startUpstream('busy', (_req, res) => {
    res.writeHead(503);
    res.end('busy');
  });
  const seen = new Set<string>();
  endless = await startUpstream('endless', (req, res) => {
    if (seen.has(req.url!)) {
      res.writeHead(200);
      res.end('second try');
      return;
    }
    seen.add(req.url!);
    res.writeHead(503);
    res.write('overloaded, and still writing');
  });
  const seenH2 = new Set<string>();
  endlessH2 = http2.createServer();
  endlessH2.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    stream.on('error', () => undefined);
    if (seenH2.has(path)) {
      stream.respond({ ':status': 200 });
      stream.end('second try');
      return;
    }
    seenH2.add(path);
    stream.respond({ ':status': 503 });
    stream.write('overloaded, and still writing');
  });
  await new Promise<void>((r) => endlessH2.listen(0, '127.0.0.1', r));
  closer = net.createServer((socket) => {
    socket.once('data', (request) => {
      if (request.toString('latin1').startsWith('GET /mid')) {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc');
        setTimeout(() => socket.destroy(), 50);
      } else socket.destroy();
    });
  });
  await new Promise<void>((r) => closer.listen(0, '127.0.0.1', r));
  port = await freePort();
  deadPort = await freePort();
  accessLog = scratchPath('retry-outcomes.log');
  const policy = (retryOn: string, extra: object = {}) => ({ retryOn, numRetries: 2, retryBackOff: { baseInterval: '1ms' }, ...extra });
  const routes = routeConfig([
    { match: { prefix: '/reset-timeout' }, route: { cluster: 'slow', timeout: '5s', retryPolicy: policy('reset', { perTryTimeout: '150ms' }) } },
    { match: { prefix: '/reset-dead' }, route: { cluster: 'dead', retryPolicy: policy('reset') } },
    { match: { prefix: '/busy' }, route: { cluster: 'busy', retryPolicy: policy('5xx') } },
    { match: { prefix: '/endless' }, route: { cluster: 'endless', timeout: '5s', retryPolicy: policy('5xx') } },
    { match: { prefix: '/h2-endless' }, route: { cluster: 'endless-h2', timeout: '5s', retryPolicy: policy('5xx') } },
    { match: { prefix: '/no-budget' }, route: { cluster: 'no-budget', retryPolicy: policy('5xx') } },
    { match: { prefix: '/' }, route: { cluster: 'closer' } },
  ]);
  proxy = await startProxy(
    bootstrap([httpListener('h', port, routes, { accessLog: [{ typedConfig: { path: accessLog } }] })], [staticCluster('slow', [slow.port]), staticCluster('dead', [deadPort]), staticCluster('busy', [busy.port]), staticCluster('no-budget', [busy.port], { circuitBreakers: { thresholds: [{ maxRetries: 0 }] } }),
        staticCluster('endless', [endless.port]),
        staticCluster('endless-h2', [(endlessH2.address() as net.AddressInfo).port], { http2ProtocolOptions: {} }),
        staticCluster('closer', [(closer.address() as net.AddressInfo).port]),
      ]),
  );
});

after(async () => {
  await proxy?.stop();
  await slow?.close();
  await busy?.close();
  await endless?.close();
  endlessH2?.close();
  closer?.close();
});

function logLines(): Array<Record<string, unknown>> {
  return readFileSync(accessLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitForLog(path: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    try {
      const hit = logLines().find((l) => l.path === path);
      if (hit) return hit;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no access log line for ${path}`);
}

function metric(text: string, name: string, cluster: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{cluster="${cluster}"`));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('retryOn reset retries a per-try timeout (the upstream did not respond), then answers 504', async () => {
  const before = slow.requests.length;
  const r = await curl([`http://127.0.0.1:${port}/reset-timeout`]);
  assert.equal(r.status, 504);
  await new Promise((resolve) => setTimeout(resolve, 900));
  assert.equal(slow.requests.length - before, 3, 'one try and two retries');
});

test('retryOn reset retries a connection failure, as Envoy counts it among resets', async () => {
  const r = await curl([`http://127.0.0.1:${port}/reset-dead`]);
  assert.equal(r.status, 503);
  const text = (await proxy.get('/stats/prometheus')).body;
  assert.equal(metric(text, 'bulwark_upstream_connect_failures_total', 'dead'), 3, 'one try and two retries');
});

test('bulwark_upstream_retries_total counts the retries sent to each cluster', async () => {
  const r = await curl([`http://127.0.0.1:${port}/busy`]);
  assert.equal(r.status, 503);
  const text = (await proxy.get('/stats/prometheus')).body;
  assert.equal(metric(text, 'bulwark_upstream_retries_total', 'busy'), 2);
  assert.equal(metric(text, 'bulwark_upstream_retries_total', 'dead'), 2, 'retries of connection failures count too');
});

test('retries run out: the last answer goes to the client flagged URX, with the failure\'s own flag first', async () => {
  const passed = await curl([`http://127.0.0.1:${port}/busy/urx`]);
  assert.equal(passed.status, 503);
  assert.equal(passed.body, 'busy', 'the upstream\'s own answer');
  assert.equal((await waitForLog('/busy/urx')).response_flags, 'URX');
  assert.equal((await curl([`http://127.0.0.1:${port}/reset-dead/urx`])).status, 503);
  assert.equal((await waitForLog('/reset-dead/urx')).response_flags, 'UF,URX');
  assert.equal((await curl([`http://127.0.0.1:${port}/reset-timeout/urx`])).status, 504);
  assert.equal((await waitForLog('/reset-timeout/urx')).response_flags, 'UT,URX');
  const text = (await proxy.get('/stats/prometheus')).body;
  assert.match(text, /istio_requests_total\{[^}]*destination_service="busy"[^}]*response_code="503"[^}]*response_flags="URX"/);
});

test('a retry the cluster\'s maxRetries budget refuses leaves the answer flagged UO', async () => {
  const r = await curl([`http://127.0.0.1:${port}/no-budget`]);
  assert.equal(r.status, 503);
  assert.equal((await waitForLog('/no-budget')).response_flags, 'UO');
});

test('an HTTP/1.1 upstream that closes its connection before answering gives 503 UC; mid-body, a truncated response flagged UC', async () => {
  const before = await curl([`http://127.0.0.1:${port}/early`]);
  assert.equal(before.status, 503);
  const early = await waitForLog('/early');
  assert.equal(early.response_flags, 'UC');
  assert.equal(early.response_code_details, 'upstream_reset_before_response_started{connection_termination}');
  const cut = await curl([`http://127.0.0.1:${port}/mid`]);
  assert.equal(cut.status, 200);
  assert.equal(cut.body, 'abc', 'the client gets the body cut short, not padded or completed');
  const mid = await waitForLog('/mid');
  assert.equal(mid.response_flags, 'UC');
  assert.equal(mid.response_code_details, 'upstream_reset_after_response_started{connection_termination}');
});

test('a retriable response whose body has not all come is not waited for: the retry goes at once', async () => {
  const started = Date.now();
  const r = await curl([`http://127.0.0.1:${port}/endless/a`]);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'second try');
  assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms, not at the route timeout`);
});

test('over HTTP/2 too: the retried stream is reset and the retry goes at once', async () => {
  const started = Date.now();
  const r = await curl([`http://127.0.0.1:${port}/h2-endless/a`]);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'second try');
  assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms, not at the route timeout`);
});
