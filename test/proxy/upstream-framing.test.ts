/**
 * How the end of an HTTP/1.1 upstream response is found, and what may follow it: the client sees
 * every response whole and in order, and an upstream connection is reused only when nothing but the
 * next request's response can arrive on it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { rawExchange } from '../support/raw-http.js';
import { scratchPath } from '../support/scratch-path.js';

const execFileAsync = promisify(execFile);

/** Raw responses by path; any other path is answered "echo <path>". */
const RESPONSES: Record<string, string> = {
  // Two bytes of body, then the start of a forged response a lenient proxy would read as the next one.
  '/extra': 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhiHTTP/1.1 302 Found\r\nlocation: http://evil.example/\r\nx-junk: ',
  '/no-content': 'HTTP/1.1 204 No Content\r\n\r\n',
  '/empty': 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
  '/head': 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n',
  '/switch': 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n',
  '/chunked-head': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n',
  // An interim response, then the final one: bodiless, as the answer to a HEAD.
  '/hints': 'HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n',
  '/interim': 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal',
  '/not-modified': 'HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\netag: "x"\r\n\r\n',
  // A 304 followed by the body it must not have: whatever those bytes are, they answer nothing.
  '/not-modified-body': 'HTTP/1.1 304 Not Modified\r\ncontent-length: 4\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil',
  // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing; the connection ends after it.
  '/ten-chunked': 'HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
};

/**
 * Responses no HTTP/1.1 parser may read two ways: each is a 502 (Envoy's UPE) before any of it
 * reaches the client, and the connection that carried it is closed, never pooled.
 */
const MALFORMED: Array<[string, string]> = [
  ['a status line that is not HTTP/1.x', 'HTTP/2.0 200 OK\r\ncontent-length: 2\r\n\r\nhi'],
  ['a status line without a code', 'HTTP/1.1 OK\r\ncontent-length: 2\r\n\r\nhi'],
  ['a two-digit status code', 'HTTP/1.1 20 OK\r\ncontent-length: 2\r\n\r\nhi'],
  ['a status code past 599', 'HTTP/1.1 600 Whatever\r\ncontent-length: 2\r\n\r\nhi'],
  ['a NUL in the reason phrase', 'HTTP/1.1 200 O\x00K\r\ncontent-length: 2\r\n\r\nhi'],
  ['bare LF line ends', 'HTTP/1.1 200 OK\ncontent-length: 2\n\nhi'],
  ['a 204 with a Content-Length', 'HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\nhello'],
  ['a 204 with Transfer-Encoding', 'HTTP/1.1 204 No Content\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
  ['a 100 with a Content-Length', 'HTTP/1.1 100 Continue\r\ncontent-length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi'],
  ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
  ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 5\r\n\r\nhello'],
  ['a Content-Length list', 'HTTP/1.1 200 OK\r\ncontent-length: 5, 2\r\n\r\nhello'],
  ['a signed Content-Length', 'HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\nhello'],
  ['chunked applied twice', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
  ['a transfer coding the proxy does not decode', 'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
  ['a header name with a space', 'HTTP/1.1 200 OK\r\nx bad: 1\r\ncontent-length: 5\r\n\r\nhello'],
  ['whitespace before a colon', 'HTTP/1.1 200 OK\r\ncontent-length : 5\r\n\r\nhello'],
  ['a NUL in a header value', 'HTTP/1.1 200 OK\r\nx-a: a\x00b\r\ncontent-length: 5\r\n\r\nhello'],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nx-a: a\r\n b\r\ncontent-length: 5\r\n\r\nhello'],
  ['a head past 96 KiB', `HTTP/1.1 200 OK\r\n${'x-filler: ' + 'f'.repeat(1000) + '\r\n'}`.repeat(100) + 'content-length: 5\r\n\r\nhello'],
];
MALFORMED.forEach(([, raw], i) => (RESPONSES[`/malformed-${i}`] = raw));
// Malformed, and sent on a pooled connection: the upstream has read the request.
RESPONSES['/malformed-reused'] = 'HTTP/1.1 600 Whatever\r\ncontent-length: 2\r\n\r\nhi';

let upstream: net.Server;
/** For each request the upstream read: its request line and which upstream connection carried it. */
const seen: Array<{ line: string; conn: number }> = [];
/** Upstream connections the proxy has closed (or reset). */
const closedConns = new Set<number>();
let proxy: RunningProxy;
let port: number;
const accessLog = scratchPath('upstream-framing.log');

before(async () => {
  let conns = 0;
  upstream = net.createServer((socket) => {
    const conn = ++conns;
    socket.on('close', () => closedConns.add(conn));
    let buf = '';
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      // Requests here have no body: each head is one request.
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const line = buf.slice(0, buf.indexOf('\r\n'));
        buf = buf.slice(end + 4);
        seen.push({ line, conn });
        const path = line.split(' ')[1]!;
        if (path === '/cut') {
          // A chunked body the upstream abandons halfway: no last chunk, the connection closes.
          socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n');
          continue;
        }
        if (path === '/slow') {
          setTimeout(() => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nslow'), 300);
          continue;
        }
        if (path === '/bad-chunk' || path === '/long-chunk') {
          // The head and a first chunk are good; then a chunk size line no parser can read, or a chunk longer than its size.
          socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n');
          setTimeout(() => socket.write(path === '/bad-chunk' ? 'zz\r\nworld\r\n0\r\n\r\n' : '3\r\nworld\r\n0\r\n\r\n'), 50);
          continue;
        }
        if (path === '/short-body') {
          // Five of the ten bytes announced, then the upstream closes.
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello');
          setTimeout(() => socket.end(), 50);
          continue;
        }
        if (path === '/until-close') {
          // No length on a keep-alive connection: the body ends when the connection does.
          socket.write('HTTP/1.1 200 OK\r\n\r\nuntil ');
          setTimeout(() => socket.end('close'), 50);
          continue;
        }
        if (path === '/late-extra') {
          // A whole response, then, in a later read, another one nobody asked for.
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi');
          setTimeout(() => !socket.destroyed && socket.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil'), 50);
          continue;
        }
        socket.write(RESPONSES[path] ?? `HTTP/1.1 200 OK\r\ncontent-length: ${5 + path.length}\r\n\r\necho ${path}`, 'latin1');
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '3s' } }]);
  // One process: tests follow one upstream connection across client connections (one pool).
  proxy = await startProxy(bootstrap([httpListener('ingress', port, routes, { accessLog: [{ typedConfig: { path: accessLog } }] })], [staticCluster('up', [(upstream.address() as AddressInfo).port])]), {
    concurrency: 1,
  });
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

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

/** The upstream connection that carried the request for `path`. */
function connOf(path: string): number {
  const r = seen.find((s) => s.line.split(' ')[1] === path);
  assert.ok(r, `${path} never reached the upstream`);
  return r.conn;
}

/** Waits until the proxy has closed upstream connection `conn`. */
async function closedByProxy(conn: number): Promise<boolean> {
  for (let i = 0; i < 40 && !closedConns.has(conn); i++) await new Promise((r) => setTimeout(r, 25));
  return closedConns.has(conn);
}

/** One request on its own client connection, which the proxy closes after the response (or cuts). */
function get(path: string): Promise<string> {
  return rawExchange(port, `GET ${path} HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n`, () => false, 3000);
}

test('bytes an upstream sends past the end of a response never answer the next request', async () => {
  const first = await rawExchange(port, 'GET /extra HTTP/1.1\r\nhost: a\r\n\r\n', (s) => s.endsWith('\r\n\r\nhi'), 3000);
  assert.match(first, /^HTTP\/1\.1 200 [^]*\r\n\r\nhi$/);
  const second = await rawExchange(port, 'GET /next HTTP/1.1\r\nhost: a\r\n\r\n', (s) => s.endsWith('echo /next'), 3000);
  assert.match(second, /^HTTP\/1\.1 200 /, second);
  assert.doesNotMatch(second, /evil/);
});

test('pipelined requests behind a bodiless response (204, HEAD, an empty body) are answered in order', async () => {
  for (const first of ['GET /no-content', 'HEAD /head', 'GET /empty']) {
    const raw = `${first} HTTP/1.1\r\nhost: a\r\n\r\nGET /slow HTTP/1.1\r\nhost: a\r\n\r\nGET /fast HTTP/1.1\r\nhost: a\r\n\r\n`;
    const text = await rawExchange(port, raw, (s) => s.includes('slow') && s.includes('echo /fast'), 3000);
    const slow = text.indexOf('\r\n\r\nslow');
    const fast = text.indexOf('echo /fast');
    assert.ok(slow > 0 && fast > slow, `${first}: responses out of order:\n${text}`);
  }
});

test('a HEAD answered with 103 Early Hints, then 200 with a Content-Length, ends with the head and frees the upstream connection', async () => {
  const head = await rawExchange(port, 'HEAD /hints HTTP/1.1\r\nhost: a\r\n\r\n', (s) => /\r\n\r\nHTTP\/1\.1 200 [^]*\r\n\r\n/.test(s), 3000);
  assert.match(head, /^HTTP\/1\.1 103 Early Hints\r\nlink: <\/style\.css>; rel=preload\r\n\r\nHTTP\/1\.1 200 [^]*content-length: 5\r\n[^]*\r\n$/);
  const next = await rawExchange(port, 'GET /after-hints HTTP/1.1\r\nhost: a\r\n\r\n', (s) => s.endsWith('echo /after-hints'), 3000);
  assert.match(next, /^HTTP\/1\.1 200 /);
  const hints = seen.find((r) => r.line.startsWith('HEAD /hints'))!;
  const after = seen.find((r) => r.line.startsWith('GET /after-hints'))!;
  assert.equal(after.conn, hints.conn, 'the upstream connection was still waiting for a body after the HEAD');
});

test('a HEAD whose GET would be chunked is answered with transfer-encoding: chunked and no body, not content-length: 0', async () => {
  const raw = 'HEAD /chunked-head HTTP/1.1\r\nhost: a\r\n\r\nGET /after-head HTTP/1.1\r\nhost: a\r\n\r\n';
  const text = await rawExchange(port, raw, (s) => s.endsWith('echo /after-head'), 3000);
  const [head, next] = text.split(/(?=HTTP\/1\.1 )/);
  assert.match(head!, /^HTTP\/1\.1 200 [^]*transfer-encoding: chunked\r\n[^]*\r\n$/);
  assert.doesNotMatch(head!, /content-length/);
  assert.match(next!, /^HTTP\/1\.1 200 [^]*echo \/after-head$/);
});

test('a 101 to a request that asked for no upgrade is a 502 for the client, whose connection stays usable', async () => {
  const raw = 'GET /switch HTTP/1.1\r\nhost: a\r\n\r\nGET /after-switch HTTP/1.1\r\nhost: a\r\n\r\n';
  const text = await rawExchange(port, raw, (s) => s.endsWith('echo /after-switch'), 3000);
  assert.match(text, /^HTTP\/1\.1 502 [^]*HTTP\/1\.1 200 [^]*echo \/after-switch$/, text);
});

test('a body the upstream cut short reaches an HTTP/1.0 client, whose body ends with the connection, as a reset, not as an end', async () => {
  // With no length and no chunking, a FIN would tell the client it had the whole body. (curl, not a
  // Node socket: libuv reports a reset that comes with the last data as a plain end.)
  await assert.rejects(execFileAsync('curl', ['-sS', '--http1.0', '--max-time', '3', `http://127.0.0.1:${port}/cut`]), (err: { code?: number; stderr?: string }) => {
    assert.equal(err.code, 56, err.stderr);
    assert.match(err.stderr ?? '', /reset/i);
    return true;
  });
  // Over HTTP/1.1 the chunked framing already tells: no last chunk.
  const text = await rawExchange(port, 'GET /cut HTTP/1.1\r\nhost: a\r\n\r\n', () => false, 3000);
  assert.match(text, /\r\n\r\n5\r\nhello\r\n$/);
});

for (const [name, raw] of MALFORMED) {
  const path = `/malformed-${MALFORMED.findIndex(([n]) => n === name)}`;
  test(`an upstream response with ${name} is a 502 (UPE), none of it reaches the client, and its connection is closed`, async () => {
    const text = await get(path);
    assert.match(text, /^HTTP\/1\.1 502 /, `${JSON.stringify(raw.slice(0, 60))} got ${JSON.stringify(text.slice(0, 120))}`);
    assert.doesNotMatch(text, /hello|hi$/);
    assert.equal((await logLine(path)).response_flags, 'UPE');
    assert.ok(await closedByProxy(connOf(path)), 'the connection that carried it was kept');
    const next = await get(`/after${path}`);
    assert.match(next, /^HTTP\/1\.1 200 [^]*echo \/after\/malformed-\d+$/);
    assert.notEqual(connOf(`/after${path}`), connOf(path));
  });
}

test('a malformed response on a reused connection answers the request: it is not sent again as if the connection were stale', async () => {
  assert.match(await get('/warm-before-malformed'), /^HTTP\/1\.1 200 /);
  const text = await get('/malformed-reused');
  assert.match(text, /^HTTP\/1\.1 502 /);
  assert.equal(connOf('/malformed-reused'), connOf('/warm-before-malformed'), 'the request did not go on the pooled connection');
  assert.equal(seen.filter((s) => s.line.split(' ')[1] === '/malformed-reused').length, 1, 'the upstream read the request more than once');
  assert.equal((await logLine('/malformed-reused')).response_flags, 'UPE');
});

test('interim responses before the final one reach the client, but a 100 the client never asked for', async () => {
  const text = await get('/interim');
  assert.match(text, /^HTTP\/1\.1 102 Processing\r\n\r\nHTTP\/1\.1 103 Early Hints\r\nlink: <\/a>\r\n\r\nHTTP\/1\.1 200 [^]*\r\n\r\nfinal$/);
  assert.doesNotMatch(text, /Continue/);
});

test('a 304 with a Content-Length has no body, and its connection stays open for the next request', async () => {
  const raw = 'GET /not-modified HTTP/1.1\r\nhost: a\r\n\r\nGET /after-304 HTTP/1.1\r\nhost: a\r\n\r\n';
  const text = await rawExchange(port, raw, (s) => s.endsWith('echo /after-304'), 3000);
  assert.match(text, /^HTTP\/1\.1 304 [^]*\r\n\r\nHTTP\/1\.1 200 [^]*echo \/after-304$/);
  assert.equal(await closedByProxy(connOf('/not-modified')), false, 'the proxy waited for a body or gave the connection up');
});

test('bytes after a 304 (a forged response) never answer the next request, and that connection is closed', async () => {
  const raw = 'GET /not-modified-body HTTP/1.1\r\nhost: a\r\n\r\nGET /after-304-body HTTP/1.1\r\nhost: a\r\n\r\n';
  const text = await rawExchange(port, raw, (s) => s.endsWith('echo /after-304-body'), 3000);
  assert.match(text, /^HTTP\/1\.1 304 [^]*\r\n\r\nHTTP\/1\.1 200 [^]*echo \/after-304-body$/);
  assert.doesNotMatch(text, /evil/);
  assert.ok(await closedByProxy(connOf('/not-modified-body')));
});

test('a response that arrives later, with no request outstanding, answers nothing: its connection is closed', async () => {
  const first = await rawExchange(port, 'GET /late-extra HTTP/1.1\r\nhost: a\r\n\r\n', (s) => s.endsWith('\r\n\r\nhi'), 3000);
  assert.match(first, /^HTTP\/1\.1 200 [^]*\r\n\r\nhi$/);
  assert.ok(await closedByProxy(connOf('/late-extra')), 'the connection that sent an unrequested response was kept');
  const next = await get('/after-late-extra');
  assert.match(next, /echo \/after-late-extra$/);
  assert.doesNotMatch(next, /evil/);
});

test('a chunk size line no parser can read, or a chunk longer than its size, cuts the response (UPE): no last chunk, the client connection closes', async () => {
  // What came before the fault has gone on (re-chunked); the client never reads a last chunk.
  for (const [path, tail] of [
    ['/bad-chunk', '5\r\nhello\r\n'],
    ['/long-chunk', '5\r\nhello\r\n3\r\nwor\r\n'],
  ] as const) {
    const text = await get(path);
    assert.match(text, /^HTTP\/1\.1 200 /, path);
    assert.ok(text.endsWith(`\r\n\r\n${tail}`), `${path}: ${JSON.stringify(text)}`);
    assert.equal((await logLine(path)).response_flags, 'UPE');
    assert.ok(await closedByProxy(connOf(path)));
  }
});

test('a body the upstream closes before its Content-Length is cut for the client, logged as UC', async () => {
  const text = await get('/short-body');
  // The client was promised ten bytes and got five: the close tells it the body is short.
  assert.match(text, /^HTTP\/1\.1 200 [^]*content-length: 10\r\n[^]*\r\n\r\nhello$/);
  assert.equal((await logLine('/short-body')).response_flags, 'UC');
});

test('a response without a length on a keep-alive connection ends with that connection, whole, and the connection is not reused', async () => {
  const text = await rawExchange(port, 'GET /until-close HTTP/1.1\r\nhost: a\r\n\r\n', (s) => s.endsWith('0\r\n\r\n'), 3000);
  assert.match(text, /^HTTP\/1\.1 200 [^]*transfer-encoding: chunked\r\n/);
  assert.ok(text.endsWith('\r\n\r\n6\r\nuntil \r\n5\r\nclose\r\n0\r\n\r\n'), text);
  assert.equal((await logLine('/until-close')).response_flags, '-');
  assert.ok(await closedByProxy(connOf('/until-close')));
});

test('an HTTP/1.0 response with Transfer-Encoding is read chunked, and its connection closes despite keep-alive (RFC 9112 §6.1)', async () => {
  const text = await get('/ten-chunked');
  assert.match(text, /^HTTP\/1\.1 200 [^]*\r\n\r\n2\r\nhi\r\n0\r\n\r\n$/);
  assert.ok(await closedByProxy(connOf('/ten-chunked')));
});

test('the proxy is still up after every malformed response', () => {
  assert.equal(proxy.child.exitCode, null);
  assert.doesNotMatch(proxy.logs(), /uncaught|TypeError|RangeError/i);
});
