/**
 * Interim (1xx) responses from an upstream reach the client ahead of the final response (RFC 9110
 * §15.2): 103 Early Hints with its Link fields, 102 Processing, over HTTP/1.1 and HTTP/2 on either
 * side. Not to an HTTP/1.0 client, not past a bound per request, and once one has reached the client
 * the request is not tried again. The access log and the metrics keep the final status.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { rawExchange } from '../support/raw-http.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { scratchPath } from '../support/scratch-path.js';

const execFileAsync = promisify(execFile);

const NODE_LINK = '</style.css>; rel=preload; as=style, </app.js>; rel=preload; as=script';
const HINTS_103 = 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\nlink: </b.js>; rel=preload\r\n';
/** 102, then a 103 with two Link fields and hop-by-hop fields that must not reach the client, then the final response. */
const HINTED = `HTTP/1.1 102 Processing\r\n\r\n${HINTS_103}connection: x-hop\r\nx-hop: secret\r\nkeep-alive: timeout=5\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal`;
const FLOOD = 40;

let nodeUpstream: TestUpstream;
let raw: net.Server;
let h2Upstream: http2.Http2Server;
/** Each request the raw upstream read: its path and which of its connections carried it. */
const seen: Array<{ path: string; conn: number }> = [];
let proxy: RunningProxy;
let port: number;
const accessLog = scratchPath('informational.log');

/** The raw upstream's answer to `path` (requests here have no body). */
function answer(socket: net.Socket, path: string): void {
  if (path.startsWith('/raw/hints-slow')) {
    // Each interim response in a read of its own.
    const parts = HINTED.split(/(?=HTTP\/1\.1 )/);
    parts.forEach((part, i) => setTimeout(() => socket.write(part, 'latin1'), 20 * i));
  } else if (path.startsWith('/raw/hints')) socket.write(HINTED, 'latin1');
  else if (path.startsWith('/raw/flood')) socket.write(`${HINTS_103}\r\n`.repeat(FLOOD) + 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal', 'latin1');
  else if (path.endsWith('/hints-then-close')) {
    socket.write(`${HINTS_103}\r\n`, 'latin1');
    setTimeout(() => socket.destroy(), 50);
  } else if (path.endsWith('/close')) socket.destroy();
  else if (path.endsWith('/hints-then-503')) socket.write(`${HINTS_103}\r\nHTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n`, 'latin1');
  else if (path.endsWith('/503')) socket.write('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n', 'latin1');
  else socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${5 + path.length}\r\n\r\necho ${path}`, 'latin1');
}

before(async () => {
  nodeUpstream = await startUpstream('node', (_req, res) => {
    res.writeEarlyHints({ link: ['</style.css>; rel=preload; as=style', '</app.js>; rel=preload; as=script'] });
    res.end('final');
  });
  let conns = 0;
  raw = net.createServer((socket) => {
    const conn = ++conns;
    let buf = '';
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const path = buf.slice(0, buf.indexOf('\r\n')).split(' ')[1]!;
        buf = buf.slice(end + 4);
        seen.push({ path, conn });
        answer(socket, path);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  h2Upstream = http2.createServer();
  h2Upstream.on('stream', (stream) => {
    stream.additionalHeaders({ ':status': 103, link: '</h2.css>; rel=preload' });
    stream.respond({ ':status': 200 });
    stream.end('h2 final');
  });
  await new Promise<void>((r) => h2Upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const retryPolicy = { retryOn: 'reset,5xx', numRetries: 2, retryBackOff: { baseInterval: '1ms' } };
  const routes = routeConfig([
    { match: { prefix: '/node/' }, route: { cluster: 'node' } },
    { match: { prefix: '/h2/' }, route: { cluster: 'h2' } },
    { match: { prefix: '/retry/' }, route: { cluster: 'raw-retry', retryPolicy } },
    { match: { prefix: '/' }, route: { cluster: 'raw' } },
  ]);
  const rawPort = (raw.address() as AddressInfo).port;
  proxy = await startProxy(
    bootstrap(
      [httpListener('h', port, routes, { accessLog: [{ typedConfig: { path: accessLog } }] })],
      [
        staticCluster('node', [nodeUpstream.port]),
        staticCluster('raw', [rawPort]),
        staticCluster('raw-retry', [rawPort]),
        staticCluster('h2', [(h2Upstream.address() as AddressInfo).port], { http2ProtocolOptions: {} }),
      ],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  await nodeUpstream?.close();
  raw?.close();
  h2Upstream?.close();
});

interface Exchange {
  interim: Array<{ status: number; headers: http.IncomingHttpHeaders }>;
  status: number;
  body: string;
}

/** A GET with Node's HTTP/1.1 client, which reports each interim response as an 'information' event. */
function h1Get(path: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const interim: Exchange['interim'] = [];
    const req = http.get({ port, host: '127.0.0.1', path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ interim, status: res.statusCode!, body }));
    });
    req.on('information', (info) => interim.push({ status: info.statusCode, headers: info.headers }));
    req.on('error', reject);
  });
}

/** A GET with Node's HTTP/2 client over h2c: interim responses come as 'headers' events. */
function h2Get(client: http2.ClientHttp2Session, path: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const interim: Exchange['interim'] = [];
    const req = client.request({ ':path': path });
    req.on('headers', (headers) => interim.push({ status: Number(headers[':status']), headers }));
    let status = 0;
    req.on('response', (headers) => (status = Number(headers[':status'])));
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve({ interim, status, body }));
    req.on('error', reject);
  });
}

/** `text` as a regular expression that matches it exactly. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The access log line of the request for `path`, once written. */
async function logLine(path: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    let lines: Array<Record<string, unknown>> = [];
    try {
      lines = readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    } catch {
      // not written yet
    }
    const hit = lines.find((l) => l.path === path);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no access log line for ${path}`);
}

test('curl prints the upstream 103 Early Hints and its Link field, then the final 200, over HTTP/1.1 and h2c', async () => {
  for (const [flag, version] of [
    ['--http1.1', 'HTTP/1.1 103 Early Hints'],
    ['--http2-prior-knowledge', 'HTTP/2 103'],
  ] as const) {
    const { stdout, stderr } = await execFileAsync('curl', ['-sS', '-v', flag, '--max-time', '5', `http://127.0.0.1:${port}/node/early-hints`]);
    assert.equal(stdout, 'final', flag);
    const hints = stderr.indexOf(`< ${version}`);
    const final = stderr.indexOf(`< ${version.split(' ')[0]} 200`);
    assert.ok(hints >= 0 && final > hints, stderr);
    assert.ok(stderr.slice(hints, final).includes(`< link: ${NODE_LINK}`), stderr);
  }
});

test('a Node HTTP/1.1 client hears 102 and 103 (Link fields kept, hop-by-hop fields removed) before the final response', async () => {
  for (const path of ['/raw/hints', '/raw/hints-slow']) {
    const res = await h1Get(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.body, 'final', path);
    assert.deepEqual(
      res.interim.map((i) => i.status),
      [102, 103],
      path,
    );
    const hints = res.interim[1]!.headers;
    assert.equal(hints.link, '</a.css>; rel=preload, </b.js>; rel=preload', path);
    assert.equal(hints['x-hop'], undefined, `${path}: a field the upstream's Connection named went on`);
    assert.equal(hints['keep-alive'], undefined, path);
    assert.equal(hints.connection, undefined, path);
  }
});

test('an HTTP/1.1 client hears the 103 of an HTTP/2 upstream', async () => {
  const res = await h1Get('/h2/early-hints');
  assert.deepEqual(res.interim.map((i) => [i.status, i.headers.link]), [[103, '</h2.css>; rel=preload']]);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'h2 final');
});

test('an HTTP/2 client (h2c) hears the 103 as a HEADERS frame before the final response, from HTTP/1.1 and HTTP/2 upstreams', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const fromNode = await h2Get(client, '/node/early-hints');
    assert.deepEqual(fromNode.interim.map((i) => [i.status, i.headers.link]), [[103, NODE_LINK]]);
    assert.equal(fromNode.status, 200);
    assert.equal(fromNode.body, 'final');
    const fromRaw = await h2Get(client, '/raw/hints');
    assert.deepEqual(fromRaw.interim.map((i) => i.status), [102, 103]);
    assert.equal(fromRaw.interim[1]!.headers['x-hop'], undefined);
    assert.equal(fromRaw.body, 'final');
    const fromH2 = await h2Get(client, '/h2/early-hints');
    assert.deepEqual(fromH2.interim.map((i) => [i.status, i.headers.link]), [[103, '</h2.css>; rel=preload']]);
    assert.equal(fromH2.body, 'h2 final');
  } finally {
    client.close();
  }
});

test('an HTTP/1.0 client gets only the final response', async () => {
  const text = await rawExchange(port, 'GET /raw/hints-http10 HTTP/1.0\r\nhost: a\r\n\r\n', () => false, 3000);
  assert.match(text, /^HTTP\/1\.1 200 [^]*\r\n\r\nfinal$/);
  assert.doesNotMatch(text, / 10[23] /);
});

test('pipelined requests answered with interim responses are answered in order, and their upstream connections carry later requests', async () => {
  const paths = ['/raw/hints-a', '/raw/hints-slow-b', '/raw/plain-c', '/raw/plain-d'];
  const text = await rawExchange(port, paths.map((p) => `GET ${p} HTTP/1.1\r\nhost: a\r\n\r\n`).join(''), (s) => s.endsWith('echo /raw/plain-d'), 5000);
  const hinted = literal(`HTTP/1.1 102 Processing\r\n\r\n${HINTS_103}\r\nHTTP/1.1 200 OK\r\n`) + '[^]*?' + literal('\r\n\r\nfinal');
  const plain = (p: string): string => literal('HTTP/1.1 200 OK\r\n') + '[^]*?' + literal(`\r\n\r\necho ${p}`);
  assert.match(text, new RegExp(`^${hinted}${hinted}${plain('/raw/plain-c')}${plain('/raw/plain-d')}$`), text);
  // A pipelined request starts while the previous one's upstream connection is still being released,
  // so it may take another idle one: what matters is that each hinted connection was kept.
  const index = (p: string): number => seen.findIndex((s) => s.path === p);
  for (const p of paths.slice(0, 2)) {
    const { conn } = seen[index(p)]!;
    assert.ok(seen.slice(index(p) + 1).some((s) => s.conn === conn), `the upstream connection that answered ${p} with interim responses was not reused`);
  }
});

test(`a flood of interim responses reaches the client only up to the bound; the rest are dropped and counted`, async () => {
  const text = await rawExchange(port, 'GET /raw/flood HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n', () => false, 3000);
  assert.match(text, /HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nfinal$/);
  const forwarded = text.split('HTTP/1.1 103 Early Hints').length - 1;
  assert.equal(forwarded, 16);
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.match(metrics, new RegExp(`^bulwark_upstream_interim_responses_dropped_total\\{cluster="raw"\\} ${FLOOD - 16}$`, 'm'));
});

test('once an interim response reached the client, a reset or a retriable status is not retried', async () => {
  const reads = (path: string): number => seen.filter((s) => s.path === path).length;
  // The policy does retry these without an interim response.
  assert.equal((await h1Get('/retry/close')).status, 503);
  assert.equal(reads('/retry/close'), 3);
  assert.equal((await h1Get('/retry/503')).status, 503);
  assert.equal(reads('/retry/503'), 3);

  const cut = await h1Get('/retry/hints-then-close');
  assert.deepEqual(cut.interim.map((i) => i.status), [103]);
  assert.equal(cut.status, 503);
  assert.equal(reads('/retry/hints-then-close'), 1, 'the request went again after the client had its 103');
  const refused = await h1Get('/retry/hints-then-503');
  assert.deepEqual(refused.interim.map((i) => i.status), [103]);
  assert.equal(refused.status, 503);
  assert.equal(reads('/retry/hints-then-503'), 1, 'the request went again after the client had its 103');
});

test('the access log and istio_requests_total carry the final status, not the interim ones', async () => {
  await h1Get('/node/logged');
  assert.equal((await logLine('/node/logged')).response_code, 200);
  assert.equal((await logLine('/raw/hints')).response_code, 200);
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.match(metrics, /^istio_requests_total\{[^}]*destination_service="node"[^}]*response_code="200"[^}]*\} \d+$/m);
  assert.doesNotMatch(metrics, /^istio_requests_total\{[^}]*response_code="10\d"/m);
});
