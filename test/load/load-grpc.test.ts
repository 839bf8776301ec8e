import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FortioGrpcResult } from '../../src/load/fortio-json.js';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import type { TestPki } from '../support/tls-fixtures.js';
import { bulwark, startEchoPair, type RunningEcho } from './load-support.js';

let echo: RunningEcho;
let tlsEcho: RunningEcho;
let pki: TestPki;
const dir = mkdtempSync(join(tmpdir(), 'bulwark-load-grpc-'));

before(async () => {
  ({ echo, tlsEcho, pki } = await startEchoPair());
});

after(async () => {
  await echo?.stop();
  await tlsEcho?.stop();
});

async function load(args: string[]): Promise<{ r: FortioGrpcResult; text: string }> {
  const file = join(dir, `run-${Math.random().toString(36).slice(2)}.json`);
  const run = await bulwark(['load', '-quiet', '-grpc', '-json', file, ...args]);
  assert.equal(run.code, 0, `load failed: ${run.stderr}`);
  return { r: JSON.parse(readFileSync(file, 'utf8')) as FortioGrpcResult, text: run.stderr };
}

async function echoRequests(e: RunningEcho): Promise<number> {
  return ((await (await fetch(`http://127.0.0.1:${e.port}/debug/stats`)).json()) as { requests: number }).requests;
}

test('-grpc health checks bulwark echo (SERVING), with GRPCRunnerResults fields and Fortio\'s text', async () => {
  const before = await echoRequests(echo);
  const { r, text } = await load(['-qps', '0', '-c', '2', '-n', '300', '-labels', 'grpc health', `127.0.0.1:${echo.grpcPort}`]);
  for (const k of ['RunType', 'Labels', 'StartTime', 'RequestedQPS', 'RequestedDuration', 'ActualQPS', 'ActualDuration', 'NumThreads', 'Version', 'DurationHistogram', 'Exactly', 'RetCodes', 'Destination', 'Streams', 'Ping', 'Payload']) assert.ok(k in r, `missing ${k}`);
  assert.equal(r.RunType, "GRPC Health for ''");
  assert.deepEqual(r.RetCodes, { SERVING: 300 });
  assert.equal(r.Destination, `127.0.0.1:${echo.grpcPort}`);
  assert.deepEqual([r.Streams, r.Ping, r.Payload, r.NumThreads, r.Exactly, r.RequestedQPS], [1, false, '', 2, 300, 'max']);
  assert.equal(r.DurationHistogram.Count, 300);
  assert.ok(r.DurationHistogram.Min > 0 && r.DurationHistogram.Max < 5, 'latencies in seconds');
  assert.ok(Math.abs(r.ActualQPS - 300 / (r.ActualDuration / 1e9)) < 1);
  assert.equal(r.Bulwark.SocketCount, 2, 'a channel per connection, not shared');
  assert.equal(r.Bulwark.Protocol, 'gRPC');
  assert.equal((await echoRequests(echo)) - before, 300, 'the echo server answered exactly the calls counted');
  assert.match(text, /^Aggregated Function Time : count 300 avg /m);
  assert.match(text, /^# target 99% \S+$/m);
  assert.match(text, /^Jitter: false\nHealth SERVING : 300$/m);
  assert.doesNotMatch(text, /Response Body/);
});

test('-grpc -ping: -s streams share each connection\'s channel, and the payload goes round trip', async () => {
  const { r, text } = await load(['-ping', '-s', '2', '-payload', 'hello', '-qps', '0', '-c', '2', '-n', '200', `127.0.0.1:${echo.grpcPort}`]);
  assert.equal(r.RunType, 'GRPC Ping PayloadLength=5');
  assert.deepEqual(r.RetCodes, { SERVING: 200 });
  assert.deepEqual([r.Streams, r.Ping, r.Payload, r.NumThreads], [2, true, 'hello', 4]);
  assert.equal(r.Bulwark.SocketCount, 2, 'two channels for four streams');
  assert.ok(r.Bulwark.BytesReceived >= 200 * 'hello'.length, `the replies carry the payload: ${r.Bulwark.BytesReceived} bytes`);
  assert.match(text, /^Ping SERVING : 200$/m);
  // Two streams on one connection run two calls at once: 4 calls of 100 ms take about 200 ms, not 400.
  const delayed = await load(['-ping', '-s', '2', '-grpc-ping-delay', '100ms', '-qps', '0', '-c', '1', '-n', '4', `http://127.0.0.1:${echo.grpcPort}`]);
  assert.equal(delayed.r.RunType, 'GRPC Ping Delay=100ms');
  assert.deepEqual(delayed.r.RetCodes, { SERVING: 4 });
  assert.equal(delayed.r.Bulwark.SocketCount, 1);
  assert.ok(delayed.r.DurationHistogram.Min >= 0.095, `min ${delayed.r.DurationHistogram.Min}`);
  assert.ok(delayed.r.ActualDuration < 350e6, `4 calls over 2 streams took ${delayed.r.ActualDuration / 1e6} ms`);
});

test('-grpc at a fixed rate for a duration, and over TLS with -cacert', async () => {
  const { r } = await load(['-qps', '100', '-c', '2', '-t', '1s', `127.0.0.1:${echo.grpcPort}`]);
  assert.equal(r.RequestedDuration, '1s');
  assert.ok(Math.abs(r.DurationHistogram.Count - 100) <= 3, `count ${r.DurationHistogram.Count}`);
  assert.deepEqual(Object.keys(r.RetCodes), ['SERVING']);
  const tls = await load(['-cacert', pki.caCert, '-ping', '-qps', '0', '-c', '1', '-n', '20', `localhost:${tlsEcho.grpcPort}`]);
  assert.deepEqual(tls.r.RetCodes, { SERVING: 20 });
  assert.equal(tls.r.Bulwark.Handshakes, 1);
  const plain = await bulwark(['load', '-quiet', '-grpc', '-n', '2', '-c', '1', '-json', '-', `localhost:${tlsEcho.grpcPort}`]);
  assert.equal(plain.code, 0, 'plaintext to a TLS port fails every call, and the run still ran (Fortio exits 0)');
  assert.deepEqual((JSON.parse(plain.stdout) as FortioGrpcResult).RetCodes, { ERROR: 2 });
});

test('an unreachable -grpc target: every call an ERROR (UNAVAILABLE), exit 0 as Fortio\'s (a timed run aborts at its warm-up)', async () => {
  const run = await bulwark(['load', '-quiet', '-grpc', '-n', '3', '-c', '1', '-json', '-', '127.0.0.1:1']);
  assert.equal(run.code, 0);
  const r = JSON.parse(run.stdout) as FortioGrpcResult;
  assert.deepEqual(r.RetCodes, { ERROR: 3 });
  assert.deepEqual(r.Bulwark.GrpcErrors, { UNAVAILABLE: 3 });
  assert.equal(r.DurationHistogram.Count, 3);
  assert.match(run.stderr, /^Health ERROR : 3$/m);
  const unknown = await bulwark(['load', '-quiet', '-grpc', '-healthservice', 'nope', '-n', '2', '-c', '1', '-json', '-', `127.0.0.1:${echo.grpcPort}`]);
  const u = JSON.parse(unknown.stdout) as FortioGrpcResult;
  assert.equal(u.RunType, "GRPC Health for 'nope'");
  assert.deepEqual([u.RetCodes, u.Bulwark.GrpcErrors], [{ ERROR: 2 }, { NOT_FOUND: 2 }]);
});

test('-grpc -ping through a Bulwark proxy\'s HTTP/2 route to the echo gRPC server', async () => {
  const port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'grpc', timeout: '0s' } }]);
  const proxy = await startProxy(bootstrap([httpListener('grpc', port, routes)], [staticCluster('grpc', [echo.grpcPort], { http2ProtocolOptions: {} })]), { extraArgs: ['--insecure-memory-keys'] });
  try {
    const before = await echoRequests(echo);
    const { r } = await load(['-ping', '-s', '2', '-payload', 'via proxy', '-qps', '0', '-c', '2', '-n', '200', `127.0.0.1:${port}`]);
    assert.deepEqual(r.RetCodes, { SERVING: 200 });
    assert.equal((await echoRequests(echo)) - before, 200, 'every ping reached the echo server through the proxy');
    const health = await load(['-qps', '0', '-c', '1', '-n', '50', `127.0.0.1:${port}`]);
    assert.deepEqual(health.r.RetCodes, { SERVING: 50 });
  } finally {
    await proxy.stop();
  }
});
