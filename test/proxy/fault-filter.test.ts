/**
 * Envoy's fault filter (an Istio VirtualService's `fault`) in the proxy: aborts answered locally over
 * HTTP/1.1, HTTP/2 and gRPC, delays before the request goes upstream, percentages, the caller's
 * x-envoy-fault-* headers only under header control, per-route configs over the filter's own,
 * max_active_faults, and the access log's FI / DI flags and fault_filter_abort.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { bootstrap, httpListener, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { scratchPath } from '../support/scratch-path.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const HTTP_FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const DELAY_MS = 400;

const id = (b: Buffer): Buffer => b;
const unary = { path: '/t.T/Unary', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };
const GrpcClient = grpc.makeGenericClientConstructor({ Unary: unary } as unknown as grpc.ServiceDefinition, 'T');

let upstream: TestUpstream;
let grpcServer: grpc.Server;
let grpcCalls = 0;
let proxy: RunningProxy;
let port: number;
const accessLog = scratchPath('fault-access.log');

/** A route to `cluster` under `prefix` whose typedPerFilterConfig holds `fault` (none when undefined). */
function route(prefix: string, fault: object | undefined, cluster = 'app', action: object = {}): object {
  const r: Record<string, unknown> = { match: { prefix }, route: { cluster, ...action } };
  if (fault !== undefined) r.typedPerFilterConfig = { 'envoy.filters.http.fault': { '@type': HTTP_FAULT, ...fault } };
  return r;
}

const percent = (numerator: number, denominator = 'HUNDRED') => ({ numerator, denominator });

before(async () => {
  upstream = await startUpstream('app');
  grpcServer = new grpc.Server();
  grpcServer.addService({ Unary: unary } as unknown as grpc.ServiceDefinition, { Unary: (call: any, cb: any) => { grpcCalls++; cb(null, call.request); } });
  const grpcPort = await new Promise<number>((res, rej) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  port = await freePort();
  const routes = {
    name: 'routes',
    virtualHosts: [{
      name: 'vh',
      domains: ['*'],
      routes: [
        route('/abort', { abort: { httpStatus: 503, percentage: percent(1_000_000, 'MILLION') } }),
        // With a retry policy the body is also kept for a retry, from the bytes that came during the delay.
        route('/delay', { delay: { fixedDelay: `${DELAY_MS / 1000}s`, percentage: percent(100) } }, 'app', { retryPolicy: { retryOn: '5xx', numRetries: 1 } }),
        route('/half', { abort: { httpStatus: 503, percentage: percent(5_000, 'TEN_THOUSAND') } }),
        route('/header', { abort: { headerAbort: {}, percentage: percent(100) }, delay: { headerDelay: {}, percentage: percent(100) } }),
        // Its own config has no fault: it replaces the filter's, which then does not apply here.
        route('/override', {}),
        route('/t.T/', { abort: { grpcStatus: 7, percentage: percent(100) } }, 'grpc'),
        route('/', undefined),
      ],
    }],
  };
  const hcm = {
    accessLog: [{ typedConfig: { path: accessLog } }],
    httpFilters: [
      // The filter's own fault: 418 for requests that carry x-filter-fault.
      { name: 'envoy.filters.http.fault', typedConfig: { '@type': HTTP_FAULT, abort: { httpStatus: 418, percentage: percent(100) }, headers: [{ name: 'x-filter-fault', presentMatch: true }] } },
      { name: 'envoy.filters.http.router' },
    ],
  };
  proxy = await startProxy(bootstrap([httpListener('h', port, routes, hcm)], [staticCluster('app', [upstream.port]), staticCluster('grpc', [grpcPort], { http2ProtocolOptions: {} })]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
  grpcServer?.forceShutdown();
  rmSync(accessLog, { force: true });
});

/** The access log line of the request whose path is `path` (made unique by its query). */
async function logLine(path: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    try {
      const hit = readFileSync(accessLog, 'utf8').split('\n').find((l) => l.includes(`"path":"${path}"`));
      if (hit) return JSON.parse(hit) as Record<string, unknown>;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no access log line for ${path}`);
}

function nghttp(url: string, headers: string[] = []): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('nghttp', ['-v', ...headers.flatMap((h) => ['-H', h]), url], { timeout: 10_000 }, (err, stdout) => {
      if (err) return reject(err);
      const status = /:status: (\d+)/.exec(stdout);
      if (!status) return reject(new Error(`no status in ${stdout}`));
      // The body follows the frames nghttp prints; the abort's is one line.
      resolve({ status: Number(status[1]), body: stdout });
    });
  });
}

test('an abort at 100 % answers 503 "fault filter abort" over HTTP/1.1 and HTTP/2 and never reaches the upstream; logged FI, fault_filter_abort', async () => {
  const before = upstream.requests.length;
  const h1 = await curl(['--http1.1', `http://127.0.0.1:${port}/abort?h1`]);
  assert.equal(h1.status, 503);
  assert.equal(h1.body, 'fault filter abort');
  assert.equal(h1.headers['content-type'], 'text/plain');
  const h2 = await nghttp(`http://127.0.0.1:${port}/abort?h2`);
  assert.equal(h2.status, 503);
  assert.match(h2.body, /fault filter abort/);
  assert.equal(upstream.requests.length, before);
  for (const path of ['/abort?h1', '/abort?h2']) {
    const line = await logLine(path);
    assert.equal(line.response_code, 503);
    assert.equal(line.response_flags, 'FI');
    assert.equal(line.response_code_details, 'fault_filter_abort');
  }
});

test('a gRPC abort (grpc_status) is a trailers-only answer the gRPC client reads as that status', async () => {
  const client = new GrpcClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
  try {
    const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
      client.Unary!(Buffer.from('x'), (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error('the call succeeded'))));
    });
    assert.equal(err.code, grpc.status.PERMISSION_DENIED);
    assert.equal(err.details, 'fault filter abort');
    assert.equal(grpcCalls, 0);
  } finally {
    client.close();
  }
  const line = await logLine('/t.T/Unary');
  assert.equal(line.response_code, 200);
  assert.equal(line.response_flags, 'FI');
});

test('a delay at 100 % holds the request before it goes upstream, its body read meanwhile; logged DI', async () => {
  const body = 'x'.repeat(200_000);
  const started = performance.now();
  const posted = await fetch(`http://127.0.0.1:${port}/delay?fetch`, { method: 'POST', body });
  const elapsed = performance.now() - started;
  assert.equal(posted.status, 200);
  const echoed = (await posted.json()) as { body: string };
  assert.equal(echoed.body.length, body.length);
  assert.ok(elapsed >= 0.8 * DELAY_MS, `answered after ${elapsed} ms`);
  const h2Started = performance.now();
  const h2 = await nghttp(`http://127.0.0.1:${port}/delay?h2`);
  assert.equal(h2.status, 200);
  assert.ok(performance.now() - h2Started >= 0.8 * DELAY_MS);
  const line = await logLine('/delay?fetch');
  assert.equal(line.response_code, 200);
  assert.equal(line.response_flags, 'DI');
  assert.equal(line.response_code_details, 'via_upstream');
});

test('a 50 % abort fails about half of 60 requests', async () => {
  let aborted = 0;
  for (let i = 0; i < 60; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/half?${i}`);
    await res.text();
    if (res.status === 503) aborted++;
    else assert.equal(res.status, 200);
  }
  // Binomial(60, 0.5): 30 on average, outside 12..48 about once in 10^5 runs.
  assert.ok(aborted >= 12 && aborted <= 48, `${aborted} of 60 aborted`);
});

test("the caller's x-envoy-fault-* headers act only where header control is configured", async () => {
  const abort = ['-H', 'x-envoy-fault-abort-request: 429'];
  assert.equal((await curl([...abort, `http://127.0.0.1:${port}/header?a`])).status, 429);
  assert.equal((await curl([`http://127.0.0.1:${port}/header?none`])).status, 200);
  // A percentage header of 0 turns the caller's own abort off.
  assert.equal((await curl([...abort, '-H', 'x-envoy-fault-abort-request-percentage: 0', `http://127.0.0.1:${port}/header?zero`])).status, 200);
  const started = performance.now();
  const delayed = await curl(['-H', `x-envoy-fault-delay-request: ${DELAY_MS}`, `http://127.0.0.1:${port}/header?d`]);
  assert.equal(delayed.status, 200);
  assert.ok(performance.now() - started >= 0.8 * DELAY_MS);
  // Where the fault has no header control (the filter's own, and /abort's fixed one) the headers change nothing.
  assert.equal((await curl([...abort, `http://127.0.0.1:${port}/plain`])).status, 200);
  const grpcHeader = await curl(['-H', 'x-envoy-fault-abort-grpc-request: 14', `http://127.0.0.1:${port}/header?grpc`]);
  assert.equal(grpcHeader.status, 200);
  assert.equal(grpcHeader.body, 'fault filter abort');
  assert.equal((await logLine('/header?a')).response_flags, 'FI');
  assert.equal((await logLine('/header?d')).response_flags, 'DI');
});

test("a route's own fault config replaces the filter's; routes without one run the filter's", async () => {
  const marked = ['-H', 'x-filter-fault: 1'];
  const plain = await curl([...marked, `http://127.0.0.1:${port}/plain?marked`]);
  assert.equal(plain.status, 418);
  assert.equal(plain.body, 'fault filter abort');
  assert.equal((await curl([`http://127.0.0.1:${port}/plain?unmarked`])).status, 200);
  assert.equal((await curl([...marked, `http://127.0.0.1:${port}/override?marked`])).status, 200);
  // The route's own abort, not the filter's 418.
  assert.equal((await curl([...marked, `http://127.0.0.1:${port}/abort?marked`])).status, 503);
});

test('max_active_faults: past the limit a request goes on without its fault (per process, so one worker)', async () => {
  const app = await startUpstream('limited');
  const limitedPort = await freePort();
  const slow = 3_000;
  const routes = { name: 'r', virtualHosts: [{ name: 'vh', domains: ['*'], routes: [route('/', { maxActiveFaults: 1, delay: { fixedDelay: `${slow / 1000}s`, percentage: percent(100) } })] }] };
  const hcm = { httpFilters: [{ name: 'envoy.filters.http.fault', typedConfig: { '@type': HTTP_FAULT } }, { name: 'envoy.filters.http.router' }] };
  const limited = await startProxy(bootstrap([httpListener('m', limitedPort, routes, hcm)], [staticCluster('app', [app.port])]), { concurrency: 1 });
  try {
    const first = curl([`http://127.0.0.1:${limitedPort}/first`]);
    // The first request is held by its delay once the upstream has not seen it shortly after.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(app.requests.length, 0);
    const started = performance.now();
    const second = await curl([`http://127.0.0.1:${limitedPort}/second`]);
    assert.equal(second.status, 200);
    assert.ok(performance.now() - started < slow / 2, 'the second request was delayed too');
    assert.equal((await first).status, 200);
    // The delay is over: the next request is delayed again.
    const again = performance.now();
    await curl([`http://127.0.0.1:${limitedPort}/third`]);
    assert.ok(performance.now() - again >= 0.8 * slow);
    let stats = '';
    for (let i = 0; i < 100 && !/^http\.m\.fault\.faults_overflow: 1$/m.test(stats); i++) {
      stats = (await limited.get('/stats')).body;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(stats, /^http\.m\.fault\.faults_overflow: 1$/m);
    assert.match(stats, /^http\.m\.fault\.delays_injected: 2$/m);
  } finally {
    await limited.stop();
    await app.close();
  }
});

test("Envoy's http.<prefix>.fault.* stats count the faults, and istio_requests_total carries the FI and DI flags", async () => {
  await curl([`http://127.0.0.1:${port}/abort?stats`]);
  await curl([`http://127.0.0.1:${port}/delay?stats`]);
  let stats = '';
  let prometheus = '';
  for (let i = 0; i < 100; i++) {
    stats = (await proxy.get('/stats')).body;
    prometheus = (await proxy.get('/stats/prometheus')).body;
    const count = (name: string) => Number(new RegExp(`^http\\.h\\.fault\\.${name}: (\\d+)$`, 'm').exec(stats)?.[1] ?? 0);
    if (count('aborts_injected') >= 1 && count('delays_injected') >= 1 && /response_flags="DI"/.test(prometheus)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(stats, /^http\.h\.fault\.aborts_injected: [1-9]\d*$/m);
  assert.match(stats, /^http\.h\.fault\.delays_injected: [1-9]\d*$/m);
  assert.match(stats, /^http\.h\.fault\.active_faults: 0$/m);
  assert.match(stats, /^http\.h\.fault\.faults_overflow: 0$/m);
  assert.match(prometheus, /^envoy_http_fault_aborts_injected\{envoy_http_conn_manager_prefix="h"\} [1-9]/m);
  assert.match(prometheus, /^istio_requests_total\{[^}]*response_code="503"[^}]*response_flags="FI"[^}]*\} [1-9]/m);
  assert.match(prometheus, /^istio_requests_total\{[^}]*response_code="200"[^}]*response_flags="DI"[^}]*\} [1-9]/m);
});
