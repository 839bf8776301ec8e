import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { REPO_ROOT } from '../support/proxy-process.js';
import type { TestPki } from '../support/tls-fixtures.js';
import { bulwark, startEchoPair, type RunningEcho } from './load-support.js';
import { CLI } from '../support/cli-entry.js';

let echo: RunningEcho;
let tlsEcho: RunningEcho;
let pki: TestPki;
const dir = mkdtempSync(join(tmpdir(), 'bulwark-load-'));

before(async () => {
  ({ echo, tlsEcho, pki } = await startEchoPair());
});

after(async () => {
  await echo?.stop();
  await tlsEcho?.stop();
});

function pem2(files: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(files.cert), key: readFileSync(files.key) };
}

async function load(args: string[]): Promise<FortioResult> {
  const file = join(dir, `run-${Math.random().toString(36).slice(2)}.json`);
  const r = await bulwark(['load', '-quiet', '-json', file, ...args]);
  assert.equal(r.code, 0, `load failed: ${r.stderr}`);
  return JSON.parse(readFileSync(file, 'utf8')) as FortioResult;
}

test('the JSON result has Fortio field names and units (seconds, nanoseconds), and counts every call', async () => {
  const before = (await (await fetch(`http://127.0.0.1:${echo.port}/debug/stats`)).json()) as { requests: number };
  const r = await load(['-qps', '0', '-c', '4', '-n', '300', '-labels', 'schema check', `http://127.0.0.1:${echo.port}/?size=100`]);
  for (const k of ['RunType', 'Labels', 'StartTime', 'RequestedQPS', 'RequestedDuration', 'ActualQPS', 'ActualDuration', 'NumThreads', 'DurationHistogram', 'RetCodes', 'Sizes', 'URL']) assert.ok(k in r, `missing ${k}`);
  const h = r.DurationHistogram;
  for (const k of ['Count', 'Min', 'Max', 'Sum', 'Avg', 'StdDev', 'Data', 'Percentiles']) assert.ok(k in h, `missing DurationHistogram.${k}`);
  assert.equal(r.RunType, 'HTTP');
  assert.equal(r.Labels, 'schema check');
  assert.equal(r.RequestedQPS, 'max');
  assert.equal(r.NumThreads, 4);
  assert.equal(h.Count, 300);
  assert.deepEqual(r.RetCodes, { '200': 300 });
  assert.ok(h.Min > 0 && h.Max < 5, 'latencies are in seconds');
  assert.ok(r.ActualDuration > 1e6 && r.ActualDuration < 60e9, 'ActualDuration is in nanoseconds');
  assert.ok(Math.abs(r.ActualQPS - 300 / (r.ActualDuration / 1e9)) < 1);
  assert.deepEqual(h.Percentiles.map((p) => p.Percentile), [50, 75, 90, 99, 99.9]);
  assert.ok(h.Percentiles.every((p, i, a) => i === 0 || p.Value >= a[i - 1]!.Value));
  assert.equal(h.Data.reduce((s, d) => s + d.Count, 0), 300);
  assert.ok(Math.abs(h.Data.at(-1)!.Percent - 100) < 1e-9);
  assert.ok(h.Data.every((d) => d.Start <= d.End));
  assert.equal(r.Sizes.Avg, r.HeaderSizes.Avg + 100, 'Fortio\'s fast client sizes a call by its head and body');
  const afterStats = (await (await fetch(`http://127.0.0.1:${echo.port}/debug/stats`)).json()) as { requests: number };
  assert.equal(afterStats.requests - before.requests, 300, 'the echo server saw exactly the calls the client counted');
});

test('-qps holds a constant rate and says so; -csv appends one row per run in microseconds', async () => {
  const csv = join(dir, 'runs.csv');
  // Labels without a comma: Fortio's default ("host:port/ , hostname") would be a quoted field.
  const r = await load(['-qps', '100', '-c', '2', '-t', '2s', '-labels', 'first', '-csv', csv, `http://127.0.0.1:${echo.port}/`]);
  assert.equal(r.RequestedQPS, '100');
  assert.ok(Math.abs(r.ActualQPS - 100) / 100 < 0.1, `actual ${r.ActualQPS}`);
  assert.ok(Math.abs(r.DurationHistogram.Count - 200) <= 4, `count ${r.DurationHistogram.Count}`);
  assert.equal(r.Bulwark.TargetRateReached, true);
  // A short run at a low rate: the last interval counts, as in Fortio (10 calls in 1 s is 10 qps, not 11).
  const short = await load(['-qps', '10', '-c', '2', '-t', '1s', `http://127.0.0.1:${echo.port}/`]);
  assert.equal(short.DurationHistogram.Count, 10);
  assert.ok(Math.abs(short.ActualQPS - 10) / 10 < 0.03, `actual ${short.ActualQPS}`);
  assert.ok(short.ActualDuration >= 1e9, `ActualDuration ${short.ActualDuration}`);
  await load(['-qps', '50', '-c', '1', '-n', '20', '-labels', 'second, quoted', '-csv', csv, `http://127.0.0.1:${echo.port}/`]);
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'StartTime,ActualDuration,Labels,NumThreads,ActualQPS,p50,p90,p99,p999,errorPercent,handshakesPerSec');
  assert.equal(lines.length, 3);
  const cols = lines[1]!.split(',');
  assert.ok(Number(cols[5]) > 10 && Number(cols[5]) < 1e6, `p50 in µs: ${cols[5]}`);
  assert.equal(cols[9], '0.000');
  assert.match(lines[2]!, /"second, quoted"/);
});

test('RequestedDuration is written as Go writes durations, and -t 0 runs until interrupted', async () => {
  const short = await load(['-qps', '20', '-c', '1', '-t', '500ms', `http://127.0.0.1:${echo.port}/`]);
  assert.equal(short.RequestedDuration, '500ms');
  const file = join(dir, 'until-stop.json');
  const child = spawn(process.execPath, [...CLI, 'load', '-quiet', '-qps', '50', '-c', '1', '-t', '0', '-json', file, `http://127.0.0.1:${echo.port}/`], { cwd: REPO_ROOT, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise((r) => setTimeout(r, 3000));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  const r = JSON.parse(readFileSync(file, 'utf8')) as FortioResult;
  assert.equal(r.RequestedDuration, 'until stop');
  assert.ok(r.DurationHistogram.Count > 10, `count ${r.DurationHistogram.Count}`);
});

test('percentiles stay within Min and Max, and Sizes counts every call in exact bytes (head and body, as Fortio\'s fast client)', async () => {
  const r = await load(['-qps', '0', '-c', '1', '-n', '10', '-p', '50,99.9,100', `http://127.0.0.1:${echo.port}/?delay=20ms&size=5000`]);
  const h = r.DurationHistogram;
  assert.ok(h.Percentiles.every((p) => p.Value >= h.Min && p.Value <= h.Max), `${JSON.stringify(h.Percentiles)} outside ${h.Min}..${h.Max}`);
  assert.equal(h.Percentiles.at(-1)!.Value, h.Max, 'the 100th percentile is the slowest call');
  const head = r.HeaderSizes.Min;
  assert.equal(r.HeaderSizes.Max, head);
  assert.deepEqual([r.Sizes.Count, r.Sizes.Min, r.Sizes.Max, r.Sizes.Avg, r.Sizes.Sum], [10, head + 5000, head + 5000, head + 5000, 10 * (head + 5000)]);
  const empty = await load(['-qps', '0', '-c', '1', '-n', '10', `http://127.0.0.1:${echo.port}/`]);
  assert.deepEqual([empty.Sizes.Count, empty.Sizes.Min, empty.Sizes.Max], [10, empty.HeaderSizes.Min + 5, empty.HeaderSizes.Max + 5], 'an empty echoed body: the head and its last chunk (0\\r\\n\\r\\n)');
  const refused = await bulwark(['load', '-quiet', '-n', '3', '-c', '1', '-json', '-', 'http://127.0.0.1:1/']);
  assert.equal((JSON.parse(refused.stdout) as FortioResult).Sizes.Count, 3, 'failed calls are sized 0, as in Fortio');
});

test('the text summary has Fortio\'s lines and units, so scripts that parse Fortio\'s output read it', async () => {
  const run = await bulwark(['load', '-quiet', '-qps', '0', '-c', '2', '-n', '50', '-json', '-', `http://127.0.0.1:${echo.port}/?delay=2ms&size=10`]);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout) as FortioResult;
  const text = run.stderr;
  const p50 = Number(/^# target 50% (\S+)$/m.exec(text)?.[1]);
  assert.ok(p50 >= 0.002 && p50 < 1, `p50 in seconds: ${p50}`);
  assert.equal(p50, Number(r.DurationHistogram.Percentiles[0]!.Value.toPrecision(6)));
  const agg = /^Aggregated Function Time : count (\d+) avg (\S+) \+\/- (\S+) min (\S+) max (\S+) sum (\S+)$/m.exec(text);
  assert.ok(agg, text);
  assert.equal(Number(agg[1]), 50);
  assert.ok(Math.abs(Number(agg[2]) - r.DurationHistogram.Avg) < 1e-6, 'avg in seconds');
  assert.match(text, /^# range, mid point, percentile, count$/m);
  assert.match(text, /^Code 200 : 50 \(100\.0 %\)$/m);
  const size = r.Sizes.Min;
  assert.equal(size, r.HeaderSizes.Min + 10);
  assert.match(text, new RegExp(`^Response Body/Total Sizes : count 50 avg ${size} \\+/- 0 min ${size} max ${size} sum ${50 * size}$`, 'm'));
  assert.match(text, /^All done 50 calls \(plus 0 warmup\) [\d.]+ ms avg, [\d.]+ qps$/m);
  const refused = await bulwark(['load', '-quiet', '-n', '2', '-c', '1', 'http://127.0.0.1:1/']);
  assert.match(refused.stderr, /^Code\s+-1 : 2 \(100\.0 %\)$/m);
});

test('coordinated omission: a server that stalls once shows the stall in p99 at a constant rate', async () => {
  let calls = 0;
  const server = http.createServer((_req, res) => {
    calls++;
    if (calls === 50) setTimeout(() => res.end('late'), 600);
    else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const r = await load(['-qps', '100', '-c', '1', '-t', '3s', `http://127.0.0.1:${(server.address() as AddressInfo).port}/`]);
    const p = (q: number): number => r.DurationHistogram.Percentiles.find((x) => x.Percentile === q)!.Value;
    // One slow response among ~300, but the ~60 calls scheduled during the stall waited for it.
    assert.ok(p(99) > 0.3, `p99 ${p(99)} s should show the stall`);
    assert.ok(p(90) > 0.05, `p90 ${p(90)} s: the queued calls count from their scheduled time`);
    assert.ok(p(50) < 0.05, `p50 ${p(50)} s stays low`);
  } finally {
    server.close();
  }
});

test('status and delay parameters, errors counted by code, and request bodies echoed', async () => {
  const r = await load(['-qps', '0', '-c', '2', '-n', '200', `http://127.0.0.1:${echo.port}/?status=503:50`]);
  assert.ok((r.RetCodes['503'] ?? 0) > 40 && (r.RetCodes['200'] ?? 0) > 40, JSON.stringify(r.RetCodes));
  const sized = await load(['-qps', '0', '-c', '2', '-n', '200', `http://127.0.0.1:${echo.port}/?size=1000:50`]);
  assert.deepEqual(sized.RetCodes, { '200': 200 }, 'weighted sizes, as Fortio takes them');
  assert.ok(sized.Sizes.Min < 200 && sized.Sizes.Max > 1000 && sized.Sizes.Max <= sized.HeaderSizes.Max + 1000, `empty bodies and 1000-byte ones, after their heads: ${sized.Sizes.Min}..${sized.Sizes.Max}`);
  const bodyAvg = sized.Sizes.Avg - sized.HeaderSizes.Avg;
  assert.ok(bodyAvg > 300 && bodyAvg < 700, `body avg ${bodyAvg}`);
  const d = await load(['-qps', '0', '-c', '1', '-n', '3', `http://127.0.0.1:${echo.port}/?delay=100ms`]);
  assert.ok(d.DurationHistogram.Min >= 0.095, `min ${d.DurationHistogram.Min}`);
  const body = await load(['-qps', '0', '-c', '1', '-n', '10', '-payload-size', '5000', `http://127.0.0.1:${echo.port}/`]);
  assert.equal(body.Bulwark.BytesReceived, 50_000);
  const refused = await bulwark(['load', '-quiet', '-n', '3', '-c', '1', '-json', '-', 'http://127.0.0.1:1/']);
  assert.equal(refused.code, 0, 'the run ran (Fortio exits 0): RetCodes has the failures');
  assert.deepEqual((JSON.parse(refused.stdout) as FortioResult).RetCodes, { '-1': 3 });
});

test('HTTP/2: h2c with prior knowledge and over TLS with ALPN, verified against the CA', async () => {
  const h2c = await load(['-h2', '-qps', '0', '-c', '2', '-n', '50', `http://127.0.0.1:${echo.port}/?size=10`]);
  assert.deepEqual(h2c.RetCodes, { '200': 50 });
  assert.equal(h2c.Bulwark.Protocol, 'HTTP/2');
  const tls = await load(['-h2', '-cacert', pki.caCert, '-qps', '0', '-c', '2', '-n', '50', `https://localhost:${tlsEcho.port}/`]);
  assert.deepEqual(tls.RetCodes, { '200': 50 });
  const untrusted = await bulwark(['load', '-quiet', '-h2', '-n', '2', '-c', '1', '-json', '-', `https://localhost:${tlsEcho.port}/`]);
  assert.deepEqual((JSON.parse(untrusted.stdout) as FortioResult).RetCodes, { '-1': 2 }, 'an unknown CA is refused');
  const insecure = await load(['-k', '-qps', '0', '-c', '1', '-n', '5', `https://localhost:${tlsEcho.port}/`]);
  assert.deepEqual(insecure.RetCodes, { '200': 5 });
});

test('mTLS: -cert and -key present a client certificate to a server that requires one', async () => {
  const server = https.createServer({ ...pem2(pki.issue('mtls-server', 'DNS:localhost')), ca: readFileSync(pki.caCert), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    res.end((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? 'anonymous');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://localhost:${(server.address() as AddressInfo).port}/`;
  try {
    const client = pki.issue('load-client', 'URI:spiffe://cluster.local/ns/test/sa/load');
    const ok = await load(['-cacert', pki.caCert, '-cert', client.cert, '-key', client.key, '-qps', '0', '-c', '1', '-n', '5', url]);
    assert.deepEqual(ok.RetCodes, { '200': 5 });
    assert.equal(ok.Bulwark.BytesReceived, 'load-client'.length * 5);
    const refused = await bulwark(['load', '-quiet', '-cacert', pki.caCert, '-n', '2', '-c', '1', '-json', '-', url]);
    assert.deepEqual((JSON.parse(refused.stdout) as FortioResult).RetCodes, { '-1': 2 }, 'without a client certificate the handshake fails');
  } finally {
    server.close();
  }
});

test('Fortio\'s -payload, -payload-file, -content-type, -keepalive=false and -allow-initial-errors flags', async () => {
  const seen: string[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.headers['content-type']} ${body}`);
      res.end(body);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const text = await load(['-qps', '0', '-c', '1', '-n', '3', '-payload', 'hello', url]);
    assert.equal(text.Bulwark.BytesReceived, 15);
    const file = join(dir, 'payload.json');
    writeFileSync(file, '{"a":1}');
    await load(['-qps', '0', '-c', '1', '-n', '1', '-payload-file', file, '-content-type', 'application/json', url]);
    await load(['-qps', '0', '-c', '1', '-n', '1', '-content-type', 'text/plain', '-allow-initial-errors', '-loglevel', 'Warning', url]);
    assert.deepEqual(seen, ['POST application/octet-stream hello', 'POST application/octet-stream hello', 'POST application/octet-stream hello', 'POST application/json {"a":1}', 'POST text/plain ']);
    connections = 0;
    const fresh = await load(['-keepalive=false', '-qps', '0', '-c', '1', '-n', '5', url]);
    assert.deepEqual(fresh.RetCodes, { '200': 5 });
    assert.equal(connections, 5, 'a new connection per call');
  } finally {
    server.close();
  }
});

test('a -H header replaces the default of the same name, over HTTP/1.1 and HTTP/2', async () => {
  const seen: string[] = [];
  const onRequest = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    const raw = req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    seen.push(['host', 'user-agent', 'content-type'].map((n) => `${n}=${raw.filter((r) => r === n).length}:${req.headers[n] ?? req.headers[':authority']}`).join(' '));
    req.resume();
    req.on('end', () => res.end());
  };
  const h1 = http.createServer(onRequest);
  const h2 = http2.createServer(onRequest);
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  try {
    const headers = ['-H', 'Host: example.test', '-H', 'User-Agent: fortio-suite', '-H', 'Content-Type: application/json', '-payload', '{}'];
    await load([...headers, '-qps', '0', '-c', '1', '-n', '1', `http://127.0.0.1:${(h1.address() as AddressInfo).port}/`]);
    await load([...headers, '-h2', '-qps', '0', '-c', '1', '-n', '1', `http://127.0.0.1:${(h2.address() as AddressInfo).port}/`]);
    assert.deepEqual(seen, [
      'host=1:example.test user-agent=1:fortio-suite content-type=1:application/json',
      'host=0:example.test user-agent=1:fortio-suite content-type=1:application/json',
    ]);
  } finally {
    h1.close();
    h2.close();
  }
});

test('SocketCount counts the connections opened (connect attempts), as Fortio\'s does', async () => {
  const kept = await load(['-qps', '0', '-c', '3', '-n', '30', `http://127.0.0.1:${echo.port}/`]);
  assert.equal(kept.SocketCount, 3);
  const closed = await load(['-qps', '0', '-c', '2', '-n', '20', `http://127.0.0.1:${echo.port}/?close=true`]);
  assert.equal(closed.SocketCount, 20, 'a server closing after each response makes a socket per call');
  const h2 = await load(['-h2', '-new-conn', '-qps', '0', '-c', '2', '-n', '10', `http://127.0.0.1:${echo.port}/`]);
  assert.equal(h2.SocketCount, 10);
  const refused = await bulwark(['load', '-quiet', '-n', '2', '-c', '1', '-json', '-', 'http://127.0.0.1:1/']);
  assert.equal((JSON.parse(refused.stdout) as FortioResult).SocketCount, 2, 'each refused dial is a socket used');
});

test('-new-conn makes a full handshake per call; -resume resumes them', async () => {
  const fresh = await load(['-new-conn', '-cacert', pki.caCert, '-qps', '0', '-c', '2', '-n', '40', `https://localhost:${tlsEcho.port}/`]);
  assert.deepEqual(fresh.RetCodes, { '200': 40 });
  assert.equal(fresh.Bulwark.Handshakes, 40);
  assert.ok(fresh.Bulwark.HandshakesPerSec > 0);
  const resumed = await load(['-new-conn', '-resume', '-cacert', pki.caCert, '-qps', '0', '-c', '1', '-n', '20', `https://localhost:${tlsEcho.port}/`]);
  assert.deepEqual(resumed.RetCodes, { '200': 20 });
  assert.ok(resumed.Bulwark.ResumedHandshakes >= 10, `resumed ${resumed.Bulwark.ResumedHandshakes} of 20`);
});

test('-workers spreads the calls over processes and merges the histograms', async () => {
  const r = await load(['-workers', '2', '-qps', '0', '-c', '4', '-n', '400', `http://127.0.0.1:${echo.port}/`]);
  assert.equal(r.DurationHistogram.Count, 400);
  assert.deepEqual(r.RetCodes, { '200': 400 });
  assert.equal(r.NumThreads, 4, '-c 4 is 4 connections in all, 2 per worker');
  assert.equal(r.SocketCount, 4);
});

test('echo gzip=true compresses the response for a client that accepts gzip, as Fortio\'s does', async () => {
  const call = (path: string, headers: http.OutgoingHttpHeaders, body = ''): Promise<{ encoding: string | undefined; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: echo.port, path, method: body ? 'POST' : 'GET', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const zipped = await call('/?size=5000&gzip=true', { 'accept-encoding': 'gzip, deflate' });
  assert.equal(zipped.encoding, 'gzip');
  assert.ok(zipped.body.length < 5000, `compressed to ${zipped.body.length}`);
  assert.equal(gunzipSync(zipped.body).length, 5000);
  const echoed = await call('/?gzip=true', { 'accept-encoding': 'gzip' }, 'hello hello hello');
  assert.equal(echoed.encoding, 'gzip');
  assert.equal(gunzipSync(echoed.body).toString(), 'hello hello hello');
  const plain = await call('/?size=5000&gzip=true', {});
  assert.equal(plain.encoding, undefined, 'not for a client that does not accept it');
  assert.equal(plain.body.length, 5000);
});

test('the echo gRPC ping service answers a Fortio-style ping', async () => {
  const def = protoLoader.loadSync(join(REPO_ROOT, 'proto/ping.proto'), { longs: Number, keepCase: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { fgrpc: { PingServer: grpc.ServiceClientConstructor } };
  const client = new pkg.fgrpc.PingServer(`127.0.0.1:${echo.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Ping(m: object, cb: (err: grpc.ServiceError | null, reply: { seq: number; payload: string }) => void): void;
  };
  const reply = await new Promise<{ seq: number; payload: string }>((resolve, reject) => client.Ping({ seq: 7, payload: 'hello' }, (err, r) => (err ? reject(err) : resolve(r))));
  client.close();
  assert.equal(reply.seq, 7);
  assert.equal(reply.payload, 'hello');
});
