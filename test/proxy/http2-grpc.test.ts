import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { REPO_ROOT, startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

interface PingReply {
  message: string;
  servedBy: string;
}
type PingClient = grpc.Client & {
  Ping(req: { message: string }, cb: (err: grpc.ServiceError | null, res?: PingReply) => void): void;
  Ping(req: { message: string }, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: PingReply) => void): void;
  Count(req: { upto: number }): grpc.ClientReadableStream<PingReply>;
};

const pkgDef = protoLoader.loadSync(`${REPO_ROOT}test/fixtures/ping.proto`, { keepCase: false });
const proto = grpc.loadPackageDefinition(pkgDef) as unknown as { bulwark: { test: { v1: { Pinger: grpc.ServiceClientConstructor } } } };
const Pinger = proto.bulwark.test.v1.Pinger;

let http1: TestUpstream;
let grpcServer: grpc.Server;
let grpcPort: number;
let proxy: RunningProxy;
let plainPort: number;
let tlsPort: number;
/** A port nothing listens on: the 'dead' cluster's only endpoint. */
let deadPort: number;
const pki = makePki();
const flakySeen = new Set<string>();

before(async () => {
  http1 = await startUpstream('h1');
  grpcServer = new grpc.Server();
  grpcServer.addService(Pinger.service, {
    Ping: (call: grpc.ServerUnaryCall<{ message: string }, PingReply>, cb: grpc.sendUnaryData<PingReply>) => {
      if (call.request.message === 'fail') {
        cb({ code: grpc.status.PERMISSION_DENIED, details: 'not you' });
        return;
      }
      // The first call with a given flaky-* message fails UNAVAILABLE (a trailers-only response), the next succeeds.
      if (call.request.message.startsWith('flaky-') && !flakySeen.has(call.request.message)) {
        flakySeen.add(call.request.message);
        cb({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
        return;
      }
      const md = call.metadata.get('x-forwarded-proto');
      cb(null, { message: `pong ${call.request.message}`, servedBy: `grpc-server xfp=${String(md[0] ?? '')}` });
    },
    Count: (call: grpc.ServerWritableStream<{ upto: number }, PingReply>) => {
      for (let i = 1; i <= call.request.upto; i++) call.write({ message: String(i), servedBy: 'grpc-server' });
      const trailer = new grpc.Metadata();
      trailer.set('x-count-done', 'yes');
      call.end(trailer);
    },
  });
  grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  plainPort = await freePort();
  tlsPort = await freePort();
  const server = pki.issue('gateway', 'DNS:localhost,DNS:gw.example.com');
  deadPort = await freePort();
  const routes = routeConfig([
    { match: { prefix: '/bulwark.test.v1.Gone/' }, directResponse: { status: 503 } },
    { match: { prefix: '/bulwark.test.v1.Pinger/', headers: [{ name: 'x-dead', presentMatch: true }] }, route: { cluster: 'dead' } },
    {
      match: { prefix: '/bulwark.test.v1.Pinger/', headers: [{ name: 'x-retry', presentMatch: true }] },
      route: { cluster: 'grpc', timeout: '0s', retryPolicy: { retryOn: 'cancelled,unavailable', numRetries: 2, retryBackOff: { baseInterval: '5ms' } } },
    },
    { match: { prefix: '/bulwark.test.v1.Pinger/' }, route: { cluster: 'grpc', timeout: '0s' } },
    { match: { prefix: '/' }, route: { cluster: 'h1' } },
  ]);
  const tls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: { commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: server.cert }, privateKey: { filename: server.key } }] } },
    },
  };
  proxy = await startProxy(
    bootstrap(
      [httpListener('plain', plainPort, routes), httpListener('tls', tlsPort, routes, {}, tls)],
      [staticCluster('h1', [http1.port]), staticCluster('grpc', [grpcPort], { http2ProtocolOptions: {} }), staticCluster('dead', [deadPort], { http2ProtocolOptions: {} })],
    ),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await http1?.close();
  grpcServer?.forceShutdown();
});

function nghttp(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('nghttp', args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))),
  );
}

test('nghttp speaks h2c with prior knowledge to an HTTP/1.1 upstream', async () => {
  const out = await nghttp(['-v', `http://127.0.0.1:${plainPort}/h2c/path?x=1`]);
  assert.match(out, /:status: 200/);
  const body = JSON.parse(out.slice(out.lastIndexOf('{"upstream"'), out.lastIndexOf('}') + 1));
  assert.equal(body.url, '/h2c/path?x=1');
  assert.equal(body.headers['x-forwarded-proto'], 'http');
  // A GET's stream ends with the response: no RST_STREAM after it.
  assert.doesNotMatch(out, /recv RST_STREAM/);
});

test('an HTTP/2 path an HTTP/1.1 request line cannot carry is refused with a stream error', async () => {
  const client = http2.connect(`http://127.0.0.1:${plainPort}`);
  client.on('error', () => undefined);
  const outcome = await new Promise<string>((resolve) => {
    const s = client.request({ ':path': '/caf\u00e9' });
    s.on('response', (h) => resolve(`status ${h[':status']}`));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.end();
  });
  client.close();
  assert.equal(outcome, 'ERR_HTTP2_STREAM_ERROR');
  assert.equal(http1.requests.some((r) => r.url.startsWith('/caf')), false);
  // The proxy lives on.
  assert.equal((await curl(['--http2-prior-knowledge', `http://127.0.0.1:${plainPort}/after-refusal`])).status, 200);
});

test('an HTTP/2 CONNECT request is refused with a stream error and the proxy lives on', async () => {
  const client = http2.connect(`http://127.0.0.1:${plainPort}`);
  client.on('error', () => undefined);
  const outcome = await new Promise<string>((resolve) => {
    const s = client.request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
    s.on('response', (h) => resolve(`status ${h[':status']}`));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  client.close();
  assert.equal(outcome, 'ERR_HTTP2_STREAM_ERROR');
  assert.equal((await curl(['--http2-prior-knowledge', `http://127.0.0.1:${plainPort}/after-connect`])).status, 200);
});

test('HTTP/2 cookie crumbs reach an HTTP/1.1 upstream as one Cookie field', async () => {
  const out = await nghttp(['-H', 'cookie: a=1', '-H', 'cookie: b=2', `http://127.0.0.1:${plainPort}/cookies`]);
  assert.match(out, /"upstream"/);
  const seen = http1.requests.find((r) => r.url === '/cookies')!;
  const cookies = seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === 'cookie');
  assert.equal(cookies.length, 1);
  assert.equal(seen.headers.cookie, 'a=1; b=2');
});

test('curl negotiates HTTP/2 over TLS with ALPN, and HTTP/1.1 still works on the same port', async () => {
  const h2 = await curl(['--http2', '--cacert', pki.caCert, '--resolve', `gw.example.com:${tlsPort}:127.0.0.1`, `https://gw.example.com:${tlsPort}/tls`]);
  assert.equal(h2.status, 200);
  assert.equal(h2.httpVersion, '2');
  assert.equal(JSON.parse(h2.body).headers['x-forwarded-proto'], 'https');
  const h1 = await curl(['--http1.1', '--cacert', pki.caCert, '--resolve', `gw.example.com:${tlsPort}:127.0.0.1`, `https://gw.example.com:${tlsPort}/tls1`]);
  assert.equal(h1.status, 200);
  assert.equal(h1.httpVersion, '1.1');
});

test('a POST body over HTTP/2 reaches the HTTP/1.1 upstream intact', async () => {
  const file = `${pki.dir}/body.bin`;
  writeFileSync(file, 'y'.repeat(200_000));
  const r = await curl(['--http2-prior-knowledge', '--data-binary', `@${file}`, `http://127.0.0.1:${plainPort}/upload`]);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).body.length, 200_000);
});

test('Expect: 100-continue over HTTP/2 is answered with a 100 at once, and not sent on', async () => {
  const file = `${pki.dir}/expect.bin`;
  writeFileSync(file, 'z'.repeat(200_000));
  const started = Date.now();
  // curl holds the body back until a 100 arrives, or for its 1 s expect timeout.
  const r = await curl(['--http2-prior-knowledge', '-H', 'Expect: 100-continue', '--data-binary', `@${file}`, `http://127.0.0.1:${plainPort}/expect`]);
  const elapsed = Date.now() - started;
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { body: string; headers: Record<string, string> };
  assert.equal(seen.body.length, 200_000);
  assert.equal(seen.headers.expect, undefined);
  assert.ok(elapsed < 900, `the body went without waiting for curl's expect timeout (${elapsed} ms)`);
});

test('a unary gRPC call goes through the proxy and back', async () => {
  const client = new Pinger(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure()) as unknown as PingClient;
  const reply = await new Promise<PingReply>((resolve, reject) => client.Ping({ message: 'hello' }, (err, res) => (err ? reject(err) : resolve(res!))));
  assert.equal(reply.message, 'pong hello');
  assert.equal(reply.servedBy, 'grpc-server xfp=http');
  client.close();
});

test('a gRPC error status travels back in the trailers', async () => {
  const client = new Pinger(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure()) as unknown as PingClient;
  const err = await new Promise<grpc.ServiceError>((resolve) => client.Ping({ message: 'fail' }, (e) => resolve(e!)));
  assert.equal(err.code, grpc.status.PERMISSION_DENIED);
  assert.equal(err.details, 'not you');
  client.close();
});

test('retryOn unavailable retries a trailers-only UNAVAILABLE; without the policy the client sees it', async () => {
  const client = new Pinger(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure()) as unknown as PingClient;
  const call = (message: string, md: grpc.Metadata) =>
    new Promise<{ err: grpc.ServiceError | null; res?: PingReply }>((resolve) => client.Ping({ message }, md, (err, res) => resolve({ err, res })));
  const withRetry = new grpc.Metadata();
  withRetry.set('x-retry', '1');
  const retried = await call('flaky-retried', withRetry);
  assert.equal(retried.err, null);
  assert.equal(retried.res!.message, 'pong flaky-retried');
  const plain = await call('flaky-plain', new grpc.Metadata());
  assert.equal(plain.err?.code, grpc.status.UNAVAILABLE);
  client.close();
});

test('a server-streaming gRPC call delivers every message and the trailing metadata', async () => {
  const client = new Pinger(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure()) as unknown as PingClient;
  const call = client.Count({ upto: 50 });
  const got: string[] = [];
  let trailer = '';
  call.on('data', (m: PingReply) => got.push(m.message));
  call.on('status', (s: grpc.StatusObject) => (trailer = String(s.metadata.get('x-count-done')[0] ?? '')));
  await new Promise<void>((resolve, reject) => {
    call.on('end', () => resolve());
    call.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(got.length, 50);
  assert.equal(got[49], '50');
  assert.equal(trailer, 'yes');
  client.close();
});

test('gRPC over TLS with ALPN h2 works end to end', async () => {
  const creds = grpc.credentials.createSsl(readFileSync(pki.caCert));
  const client = new Pinger(`localhost:${tlsPort}`, creds) as unknown as PingClient;
  const reply = await new Promise<PingReply>((resolve, reject) => client.Ping({ message: 'secure' }, (err, res) => (err ? reject(err) : resolve(res!))));
  assert.equal(reply.servedBy, 'grpc-server xfp=https');
  client.close();
});

test('a reply the proxy makes to a gRPC request is trailers-only: :status 200 with grpc-status and grpc-message', async () => {
  const client = http2.connect(`http://127.0.0.1:${plainPort}`);
  client.on('error', () => undefined);
  const reply = await new Promise<{ headers: http2.IncomingHttpHeaders; ended: boolean }>((resolve, reject) => {
    const s = client.request({ ':method': 'POST', ':path': '/bulwark.test.v1.Pinger/Ping', 'content-type': 'application/grpc', te: 'trailers', 'x-dead': '1' });
    s.on('response', (headers, flags) => resolve({ headers, ended: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 }));
    s.on('error', reject);
    s.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  client.close();
  assert.equal(reply.headers[':status'], 200);
  assert.equal(reply.headers['content-type'], 'application/grpc');
  assert.equal(reply.headers['grpc-status'], '14');
  // Envoy's grpc-message is the reply's body.
  assert.match(String(reply.headers['grpc-message']), /^upstream connect error or disconnect\/reset before headers\. (retried and the latest )?reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused$/);
  assert.equal(reply.ended, true);

  // grpc-js reads it as UNAVAILABLE with the proxy's reason, not as a bare HTTP 503.
  const pinger = new Pinger(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure()) as unknown as PingClient;
  const md = new grpc.Metadata();
  md.set('x-dead', '1');
  const err = await new Promise<grpc.ServiceError>((resolve) => pinger.Ping({ message: 'x' }, md, (e) => resolve(e!)));
  pinger.close();
  assert.equal(err.code, grpc.status.UNAVAILABLE);
  assert.match(err.details, /reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused$/);
});

test('a reply with no body to a gRPC request carries no grpc-message, as Envoy sends none', async () => {
  const client = http2.connect(`http://127.0.0.1:${plainPort}`);
  client.on('error', () => undefined);
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    const s = client.request({ ':method': 'POST', ':path': '/bulwark.test.v1.Gone/Ping', 'content-type': 'application/grpc', te: 'trailers' });
    s.on('response', resolve);
    s.on('error', reject);
    s.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  client.close();
  assert.equal(headers['grpc-status'], '14');
  assert.equal(headers['grpc-message'], undefined);
});

test('gRPC requests are counted with request_protocol grpc and the grpc_response_status they ended with', async () => {
  const client = new Pinger(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure()) as unknown as PingClient;
  await new Promise<void>((resolve, reject) => client.Ping({ message: 'counted' }, (err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve) => client.Ping({ message: 'fail' }, () => resolve()));
  client.close();
  // A plain HTTP request to the same cluster is its own series, labelled http.
  await curl(['-s', '-X', 'POST', '--http2-prior-knowledge', `http://127.0.0.1:${plainPort}/bulwark.test.v1.Pinger/Ping`]);
  const stats = (await proxy.get('/stats/prometheus')).body;
  const series = (labels: RegExp): string[] => stats.split('\n').filter((l) => l.startsWith('istio_requests_total{') && labels.test(l));
  assert.equal(series(/destination_service="grpc".*request_protocol="grpc",response_code="200",grpc_response_status="0"/).length, 1, stats);
  assert.equal(series(/destination_service="grpc".*request_protocol="grpc",response_code="200",grpc_response_status="7"/).length, 1);
  assert.equal(series(/destination_service="dead".*request_protocol="grpc",response_code="200",grpc_response_status="14",response_flags="UF"/).length, 1);
  assert.equal(series(/destination_service="grpc".*request_protocol="http",.*grpc_response_status=""/).length >= 1, true, series(/destination_service="grpc"/).join("\n"));
});
