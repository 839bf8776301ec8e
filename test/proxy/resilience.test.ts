import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { rawExchange } from '../support/raw-http.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

let healthy: TestUpstream;
let flaky: TestUpstream;
let slow: TestUpstream;
let failing: TestUpstream;
let proxy: RunningProxy;
let port: number;
let deadPort: number;
let accessLog: string;
let flakyCalls = 0;
/** Streams its response in pieces for ~1.6 s, or sends its head and stalls, or sends nothing at all. */
let streaming: TestUpstream;
/** Fails the first call to each URL with a chosen status (4xx included), then succeeds. */
let picky: TestUpstream;
/** Answers 503 after 300 ms, so retries of concurrent requests overlap. */
let slow503: TestUpstream;
/** A listener whose stream idle timeout (500 ms) is shorter than the streaming response. */
let idlePort: number;

before(async () => {
  healthy = await startUpstream('healthy');
  // Fails every other request with 503: a retry on gateway-error always succeeds.
  flaky = await startUpstream('flaky', (_req, res) => {
    flakyCalls++;
    if (flakyCalls % 2 === 1) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('try again');
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`ok after ${flakyCalls}`);
    }
  });
  slow503 = await startUpstream('slow503', (_req, res) => {
    setTimeout(() => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('busy');
    }, 300);
  });
  // Answers the first call to each URL with the status its ?first= names, and 200 after that.
  const pickySeen = new Set<string>();
  picky = await startUpstream('picky', (req, res) => {
    const url = req.url ?? '/';
    const first = Number(new URL(url, 'http://x').searchParams.get('first'));
    const status = pickySeen.has(url) ? 200 : first;
    pickySeen.add(url);
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(`status ${status}`);
  });
  streaming = await startUpstream('streaming', (req, res) => {
    if (req.url?.startsWith('/silent')) return;
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (req.url?.startsWith('/stall')) {
      res.flushHeaders();
      return;
    }
    if (req.url?.startsWith('/die')) {
      res.write('piece 0\n');
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    let n = 0;
    const t = setInterval(() => {
      res.write(`piece ${n}\n`);
      if (++n === 8) {
        clearInterval(t);
        res.end();
      }
    }, 200);
  });
  slow = await startUpstream('slow', (_req, res) => {
    setTimeout(() => {
      res.writeHead(200);
      res.end('late');
    }, 1500);
  });
  failing = await startUpstream('failing', (_req, res) => {
    res.writeHead(500);
    res.end('boom');
  });
  port = await freePort();
  idlePort = await freePort();
  deadPort = await freePort();
  accessLog = scratchPath('resilience.log');
  const routes = {
    name: 'r',
    virtualHosts: [
      {
        name: 'vh',
        domains: ['*'],
        includeRequestAttemptCount: true,
        routes: [
          { match: { prefix: '/dead-retry' }, route: { cluster: 'dead', retryPolicy: { retryOn: 'connect-failure', numRetries: 2 } } },
          { match: { prefix: '/dead' }, route: { cluster: 'dead' } },
          { match: { prefix: '/nobody' }, route: { cluster: 'nobody' } },
          { match: { prefix: '/slow-upload' }, route: { cluster: 'healthy', timeout: '500ms', retryPolicy: { retryOn: '5xx', numRetries: 1, perTryTimeout: '400ms' } } },
          { match: { prefix: '/slow-capped' }, route: { cluster: 'slow', timeout: '5s', maxStreamDuration: { maxStreamDuration: '300ms' } } },
          { match: { prefix: '/slow-grpc' }, route: { cluster: 'slow', timeout: '0s', maxStreamDuration: { grpcTimeoutHeaderMax: '0s' } } },
          { match: { prefix: '/slow' }, route: { cluster: 'slow', timeout: '300ms' } },
          { match: { prefix: '/attempts' }, route: { cluster: 'flaky', retryPolicy: { retryOn: 'gateway-error', numRetries: 2, retryBackOff: { baseInterval: '5ms' } } } },
          { match: { prefix: '/per-try' }, route: { cluster: 'slow', timeout: '5s', retryPolicy: { retryOn: '5xx', numRetries: 1, perTryTimeout: '200ms' } } },
          { match: { prefix: '/flaky-retry' }, route: { cluster: 'flaky', retryPolicy: { retryOn: 'gateway-error', numRetries: 2, retryBackOff: { baseInterval: '5ms' } } } },
          { match: { prefix: '/flaky' }, route: { cluster: 'flaky' } },
          { match: { prefix: '/limited-retry' }, route: { cluster: 'limited', retryPolicy: { retryOn: '5xx', numRetries: 1, retryBackOff: { baseInterval: '1ms' } } } },
          { match: { prefix: '/r4xx' }, route: { cluster: 'picky', retryPolicy: { retryOn: 'retriable-4xx', numRetries: 1, retryBackOff: { baseInterval: '1ms' } } } },
          {
            match: { prefix: '/rcodes' },
            route: { cluster: 'picky', retryPolicy: { retryOn: 'retriable-status-codes', retriableStatusCodes: [429], numRetries: 1, retryBackOff: { baseInterval: '1ms' } } },
          },
          { match: { prefix: '/mixed' }, route: { cluster: 'mixed' } },
          {
            match: { prefix: '/pair-avoid' },
            route: {
              cluster: 'pair',
              retryPolicy: {
                retryOn: '5xx',
                numRetries: 1,
                retryBackOff: { baseInterval: '1ms' },
                retryHostPredicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
                hostSelectionRetryMaxAttempts: 20,
              },
            },
          },
          { match: { prefix: '/pair-plain' }, route: { cluster: 'pair', retryPolicy: { retryOn: '5xx', numRetries: 1, retryBackOff: { baseInterval: '1ms' } } } },
          { match: { prefix: '/' }, route: { cluster: 'healthy' } },
        ],
      },
    ],
  };
  const hcm = { accessLog: [{ typedConfig: { path: accessLog } }] };
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('ingress', port, routes, hcm),
        httpListener('idle', idlePort, { name: 'idle', virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'streaming', timeout: '0s' } }] }] }, { streamIdleTimeout: '500ms', ...hcm }),
      ],
      [
        staticCluster('healthy', [healthy.port]),
        staticCluster('streaming', [streaming.port]),
        staticCluster('dead', [deadPort]),
        staticCluster('nobody', []),
        staticCluster('slow', [slow.port]),
        staticCluster('flaky', [flaky.port]),
        staticCluster('picky', [picky.port]),
        staticCluster('limited', [slow503.port], { circuitBreakers: { thresholds: [{ maxRetries: 1 }] } }),
        staticCluster('pair', [healthy.port, failing.port], { lbPolicy: 'RANDOM' }),
        staticCluster('mixed', [healthy.port, failing.port], { outlierDetection: { consecutive5xx: 3, baseEjectionTime: '30s', maxEjectionPercent: 50, interval: '100ms' } }),
      ],
    ),
    // One process: maxRetries is a per-process threshold.
    { concurrency: 1 },
  );
});

after(async () => {
  await proxy?.stop();
  for (const u of [healthy, flaky, slow, failing, streaming, picky, slow503]) await u?.close();
});

function logLines(): Array<Record<string, unknown>> {
  return readFileSync(accessLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitForLog(pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    try {
      const hit = logLines().find(pred);
      if (hit) return hit;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('access log line not found');
}

test('an upstream that refuses connections gives 503 with UF in the access log', async () => {
  const r = await curl([`http://127.0.0.1:${port}/dead?a=1`]);
  assert.equal(r.status, 503);
  // Envoy's words, which clients and runbooks match on.
  assert.equal(r.body, 'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused');
  const line = await waitForLog((l) => l.path === '/dead?a=1');
  assert.equal(line.response_flags, 'UF');
  assert.equal(line.response_code_details, 'upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}');
});

test('a cluster with no endpoints gives 503 UH, "no healthy upstream"', async () => {
  const r = await curl([`http://127.0.0.1:${port}/nobody`]);
  assert.equal(r.status, 503);
  assert.equal(r.body, 'no healthy upstream');
  const line = await waitForLog((l) => l.path === '/nobody');
  assert.equal(line.response_flags, 'UH');
});

test('connect failures are retried as the policy says, then answered 503', async () => {
  const r = await curl([`http://127.0.0.1:${port}/dead-retry`]);
  assert.equal(r.status, 503);
  assert.match(r.body, /^upstream connect error or disconnect\/reset before headers\. retried and the latest reset reason: remote connection failure/);
});

test('a route timeout gives 504 with UT, quickly', async () => {
  const t0 = Date.now();
  const r = await curl([`http://127.0.0.1:${port}/slow`]);
  assert.equal(r.status, 504);
  assert.equal(r.body, 'upstream request timeout');
  assert.ok(Date.now() - t0 < 1200, 'the timeout did not fire in time');
  const line = await waitForLog((l) => l.path === '/slow');
  assert.equal(line.response_flags, 'UT');
  assert.equal(line.response_code_details, 'response_timeout');
});

test('a per-try timeout retries and then gives 504', async () => {
  const t0 = Date.now();
  const r = await curl([`http://127.0.0.1:${port}/per-try`]);
  assert.equal(r.status, 504);
  assert.ok(Date.now() - t0 < 1400);
});

test('a 503 is retried on gateway-error and the client sees the success', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await curl([`http://127.0.0.1:${port}/flaky-retry`]);
    assert.equal(r.status, 200, r.body);
  }
});

test('retriable-4xx retries a 409, retriable-status-codes retries any listed status (429), and other 4xx pass through', async () => {
  assert.equal((await curl([`http://127.0.0.1:${port}/r4xx/a?first=409`])).status, 200);
  assert.equal((await curl([`http://127.0.0.1:${port}/rcodes/a?first=429`])).status, 200);
  // Not conditions of these policies: answered as the upstream answered.
  assert.equal((await curl([`http://127.0.0.1:${port}/r4xx/b?first=429`])).status, 429);
  assert.equal((await curl([`http://127.0.0.1:${port}/rcodes/b?first=409`])).status, 409);
});

test('maxRetries bounds the retries outstanding at once: of two overlapping failures only one is retried', async () => {
  const replies = await Promise.all([curl([`http://127.0.0.1:${port}/limited-retry/a`]), curl([`http://127.0.0.1:${port}/limited-retry/b`])]);
  assert.deepEqual(replies.map((r) => r.status), [503, 503]);
  // Two first attempts and one retry: the second retry found the cluster's one retry slot taken.
  assert.equal(slow503.requests.length, 3);
});

test('without a retry policy the upstream 503 is passed through', async () => {
  const statuses = new Set<number>();
  for (let i = 0; i < 4; i++) statuses.add((await curl([`http://127.0.0.1:${port}/flaky`])).status);
  assert.ok(statuses.has(503));
});

test('outlier detection ejects a host after consecutive 5xx', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) statuses.push((await curl([`http://127.0.0.1:${port}/mixed`])).status);
  // The failing host gives at most its 3 consecutive 5xx before ejection; afterwards only the healthy one answers.
  const last10 = statuses.slice(-10);
  assert.deepEqual(last10, Array(10).fill(200), statuses.join(','));
  assert.ok(statuses.filter((s) => s === 500).length <= 4, statuses.join(','));
});

test('the proxy keeps serving healthy routes throughout', async () => {
  assert.equal((await curl([`http://127.0.0.1:${port}/fine`])).status, 200);
});

test('with the previous_hosts predicate a retry goes to a host not yet tried; without it, random picks can repeat the failing one', async () => {
  const statuses = async (path: string): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < 40; i++) out.push((await curl([`http://127.0.0.1:${port}${path}/${i}`])).status);
    return out;
  };
  // Each request has one retry over two hosts, one of which always fails.
  assert.deepEqual(await statuses('/pair-avoid'), new Array(40).fill(200));
  // Without the predicate a request fails when both picks land on the failing host (1 in 4).
  const plain = await statuses('/pair-plain');
  assert.ok(plain.some((s) => s === 500), `expected some 500s, got ${plain.join(',')}`);
});

test('includeRequestAttemptCount sends x-envoy-attempt-count: 1 on the first try and 2 on the retry', async () => {
  for (let i = 0; i < 2; i++) assert.equal((await curl([`http://127.0.0.1:${port}/attempts`])).status, 200);
  const counts = flaky.requests.filter((q) => q.url === '/attempts').map((q) => q.headers['x-envoy-attempt-count']);
  // The upstream fails every other call, so at least one of the two requests was retried.
  assert.ok(counts.length >= 3, counts.join(','));
  assert.ok(counts.includes('2'));
  assert.ok(counts.every((c, i) => c === '1' || counts[i - 1] === String(Number(c) - 1)), counts.join(','));
});

test('maxStreamDuration cuts a slow exchange before the route timeout: 504 downstream duration timeout, no response flag', async () => {
  const started = Date.now();
  const r = await curl([`http://127.0.0.1:${port}/slow-capped`]);
  // Envoy's connection manager answers a stream past its duration so (onStreamMaxDurationReached): 504
  // once the request has arrived whole, and no flag (UMSDR is a cluster's upstream limit).
  assert.equal(r.status, 504);
  assert.equal(r.body, 'downstream duration timeout');
  assert.ok(Date.now() - started < 1200, `took ${Date.now() - started} ms`);
  await new Promise((res) => setTimeout(res, 300));
  assert.match(readFileSync(accessLog, 'utf8'), /"path":"\/slow-capped".*"response_flags":"-","response_code_details":"max_duration_timeout"/);
});

test('maxStreamDuration reached while the upload is still arriving answers 408 and closes the connection', async () => {
  const started = Date.now();
  const reply = await rawExchange(port, 'POST /slow-capped HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', () => false, 3000);
  assert.match(reply, /^HTTP\/1\.1 408 /);
  assert.match(reply, /downstream duration timeout$/);
  assert.ok(Date.now() - started < 2000, `closed after ${Date.now() - started} ms`);
});

test('with grpcTimeoutHeaderMax the client\'s grpc-timeout bounds the call: a trailers-only DEADLINE_EXCEEDED', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  const started = Date.now();
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    const s = client.request({ ':method': 'POST', ':path': '/slow-grpc/Svc/Call', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '250m' });
    s.on('response', resolve);
    s.on('error', reject);
    s.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  client.close();
  assert.equal(headers[':status'], 200);
  assert.equal(headers['grpc-status'], '4');
  assert.equal(headers['grpc-message'], 'downstream duration timeout');
  assert.ok(Date.now() - started < 1200, `took ${Date.now() - started} ms`);
});

test('the route and per-try timeouts start when the request is complete: an upload slower than both still succeeds', async () => {
  const started = Date.now();
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.write('POST /slow-upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
    let sent = 0;
    const drip = setInterval(() => {
      if (sent++ < 5) s.write('4\r\npart\r\n');
      else {
        clearInterval(drip);
        s.write('0\r\n\r\n');
      }
    }, 250);
  });
  assert.ok(Date.now() - started >= 1400, 'the upload took longer than the route timeout');
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.match(reply, /"body":"partpartpartpartpart"/);
});

test('the stream idle timeout restarts with every byte: a response streaming for longer completes, a stalled one is cut', async () => {
  const streamed = await curl([`http://127.0.0.1:${idlePort}/stream`]);
  assert.equal(streamed.status, 200);
  assert.equal(streamed.body.trim().split('\n').length, 8);
  const started = Date.now();
  const stalled = await curl([`http://127.0.0.1:${idlePort}/stall`]).then(
    (r) => `status ${r.status}`,
    (e: Error) => e.message,
  );
  // The head went out, then nothing: the proxy resets the stream after ~500 ms of silence.
  assert.ok(Date.now() - started < 1500, `cut after ${Date.now() - started} ms (${stalled})`);
  assert.equal(stalled, 'status 200', 'a response that had started is cut, not turned into a 408');
});

test('over HTTP/2 a response the upstream cut short is reset, never ended as if complete', async () => {
  const client = http2.connect(`http://127.0.0.1:${idlePort}`);
  client.on('error', () => undefined);
  const result = await new Promise<{ status: number; body: string; ended: boolean; rstCode: number }>((resolve) => {
    const s = client.request({ ':path': '/die' });
    let status = 0;
    let body = '';
    let ended = false;
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('data', (d: Buffer) => (body += d.toString()));
    s.on('end', () => (ended = true));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ status, body, ended, rstCode: s.rstCode ?? -1 }));
  });
  client.close();
  assert.equal(result.status, 200);
  assert.equal(result.body, 'piece 0\n');
  // node:http2's close(code) alone would have sent END_STREAM first, and the client read a clean end.
  assert.notEqual(result.rstCode, 0, 'the stream ends with RST_STREAM, not END_STREAM');
  assert.equal(result.ended, false);
});

test('a stream idle timeout before any response byte answers 504 once the request is whole, as Envoy does, and logs SI', async () => {
  const started = Date.now();
  const silent = await curl(['-H', 'x-request-id: idle-408', `http://127.0.0.1:${idlePort}/silent`]);
  assert.equal(silent.status, 504);
  assert.equal(silent.body, 'stream timeout');
  assert.ok(Date.now() - started < 1500, `answered after ${Date.now() - started} ms`);
  const line = await waitForLog((l) => l.request_id === 'idle-408');
  assert.equal(line.response_flags, 'SI');
  assert.equal(line.response_code_details, 'stream_idle_timeout');
  // Over HTTP/2 the same stream gets the same answer.
  const client = http2.connect(`http://127.0.0.1:${idlePort}`);
  client.on('error', () => undefined);
  const status = await new Promise<number>((resolve) => {
    const s = client.request({ ':path': '/silent' });
    s.on('response', (h) => resolve(Number(h[':status'])));
    s.on('error', () => resolve(-1));
    s.resume();
    setTimeout(() => resolve(-1), 3000);
  });
  client.close();
  assert.equal(status, 504);
});

test('a stream idle timeout while the request body is still due answers 408 and closes the connection', async () => {
  const started = Date.now();
  const reply = await rawExchange(idlePort, 'POST /silent HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', () => false, 3000);
  assert.match(reply, /^HTTP\/1\.1 408 /);
  assert.match(reply, /stream timeout$/);
  assert.ok(Date.now() - started < 2000, `closed after ${Date.now() - started} ms`);
});

test('HTTP/2 streams have the same stream idle timeout: a streaming response completes, a stalled one is reset', async () => {
  const client = http2.connect(`http://127.0.0.1:${idlePort}`);
  client.on('error', () => undefined);
  const fetchOver = (path: string): Promise<{ status: number; body: string; rstCode: number }> =>
    new Promise((resolve) => {
      const s = client.request({ ':path': path });
      let status = 0;
      let body = '';
      s.on('response', (h) => (status = Number(h[':status'])));
      s.on('data', (d: Buffer) => (body += d.toString()));
      s.on('error', () => undefined);
      s.on('close', () => resolve({ status, body, rstCode: s.rstCode ?? -1 }));
      // Without a stream idle timeout a stalled stream never ends: give up after 3 s.
      setTimeout(() => resolve({ status, body, rstCode: -1 }), 3000);
    });
  const streamed = await fetchOver('/stream');
  assert.equal(streamed.status, 200);
  assert.equal(streamed.body.trim().split('\n').length, 8);
  const started = Date.now();
  const stalled = await fetchOver('/stall');
  assert.equal(stalled.rstCode, http2.constants.NGHTTP2_CANCEL);
  assert.ok(Date.now() - started < 1500, `reset after ${Date.now() - started} ms`);
  client.close();
});
