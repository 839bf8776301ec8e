/**
 * How the end of an HTTP/1.1 upstream response is found, and what may follow it: the client sees
 * every response whole and in order, and an upstream connection is reused only when nothing but the
 * next request's response can arrive on it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { rawExchange } from '../support/raw-http.js';

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
};

let upstream: net.Server;
/** For each request the upstream read: its request line and which upstream connection carried it. */
const seen: Array<{ line: string; conn: number }> = [];
let proxy: RunningProxy;
let port: number;

before(async () => {
  let conns = 0;
  upstream = net.createServer((socket) => {
    const conn = ++conns;
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
        socket.write(RESPONSES[path] ?? `HTTP/1.1 200 OK\r\ncontent-length: ${5 + path.length}\r\n\r\necho ${path}`, 'latin1');
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '3s' } }]);
  // One process: tests follow one upstream connection across client connections (one pool).
  proxy = await startProxy(bootstrap([httpListener('ingress', port, routes)], [staticCluster('up', [(upstream.address() as AddressInfo).port])]), { concurrency: 1 });
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

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
  const head = await rawExchange(port, 'HEAD /hints HTTP/1.1\r\nhost: a\r\n\r\n', (s) => s.includes('\r\n\r\n'), 3000);
  assert.match(head, /^HTTP\/1\.1 200 [^]*content-length: 5\r\n[^]*\r\n$/);
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
