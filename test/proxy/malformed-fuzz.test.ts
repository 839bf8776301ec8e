/**
 * Seeded mutation fuzzing of both HTTP/1.1 parsers through a running proxy: mutated requests from a
 * raw client (to HTTP/1.1 and HTTP/2 upstreams), mutated responses from a raw upstream. The proxy
 * must stay up, answer every well-formed request that follows, and never log an uncaught error.
 * Bounded by case count; FUZZ_CASES and FUZZ_SEED reproduce or lengthen a run.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { mutate, seededRandom } from '../support/byte-mutation.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { rawExchange } from '../support/raw-http.js';

const CASES = Number(process.env.FUZZ_CASES ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);

const REQUESTS = [
  'GET /a?x=1 HTTP/1.1\r\nHost: fuzz\r\nUser-Agent: f\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 5\r\n\r\nhello',
  'POST /c HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n',
  'GET /1 HTTP/1.1\r\nHost: fuzz\r\n\r\nGET /2 HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n',
  'GET /ws HTTP/1.1\r\nHost: fuzz\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  'GET / HTTP/1.0\r\n\r\n',
  'GET http://fuzz/abs?q HTTP/1.1\r\nHost: other\r\n\r\n',
  'POST /e HTTP/1.1\r\nHost: fuzz\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc',
  'OPTIONS * HTTP/1.1\r\nHost: fuzz\r\n\r\n',
  'GET /t HTTP/1.1\r\nHost: fuzz\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nb3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1\r\nX-Forwarded-For: 1.2.3.4\r\nX-Request-Id: abc\r\n\r\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00',
  // Towards an HTTP/2 upstream: what HTTP/1.1 carries and HTTP/2 cannot (node:http2 threw on each).
  'POST /h2/c HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nConnection: close\r\nX-Trailer: t\r\n\r\n',
  'GET /h2/dup HTTP/1.1\r\nHost: fuzz\r\nUser-Agent: a\r\nUser-Agent: b\r\nContent-Type: x\r\nContent-Type: y\r\n\r\n',
  'GET /h2/ws HTTP/1.1\r\nHost: fuzz\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
];

const RESPONSES = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nGrpc-Status: 0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
  'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nSet-Cookie: a=b\r\nSet-Cookie: c=d\r\n\r\nabc',
];

let proxy: RunningProxy;
let port: number;
/** Gives the mutated responses: a raw server, so it can say what no HTTP library would. */
let upstream: net.Server;
/** Answers every other request: a real HTTP server, so request bodies are framed as the proxy framed them. */
let origin: http.Server;
/** Answers requests under /h2/: the same over HTTP/2. */
let h2Origin: http2.Http2Server;
/** The response the upstream gives to the request for /fuzz/<n>. */
const scripted = new Map<number, Buffer>();

before(async () => {
  upstream = net.createServer((socket) => {
    let seen = '';
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      for (let end = seen.indexOf('\r\n\r\n'); end >= 0; end = seen.indexOf('\r\n\r\n')) {
        const head = seen.slice(0, end);
        seen = seen.slice(end + 4);
        const m = /^[A-Z]+ \/fuzz\/(\d+) /.exec(head);
        const reply = m ? scripted.get(Number(m[1])) : undefined;
        if (reply) {
          socket.write(reply);
          // Some mutations leave the response open-ended: closing is how the upstream ends them.
          setTimeout(() => socket.destroy(), 30);
        }
      }
    });
  });
  origin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  h2Origin = http2.createServer();
  h2Origin.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.resume();
    stream.on('end', () => {
      // The proxy may have reset the stream already (a request cut short).
      if (stream.destroyed) return;
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => h2Origin.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upPort = (upstream.address() as net.AddressInfo).port;
  port = await freePort();
  const hcm = {
    requestHeadersTimeout: '1s',
    streamIdleTimeout: '2s',
    upgradeConfigs: [{ upgradeType: 'websocket' }],
  };
  const routes = routeConfig([
    { match: { prefix: '/fuzz/' }, route: { cluster: 'scripted', timeout: '2s' } },
    { match: { prefix: '/h2/' }, route: { cluster: 'h2origin', timeout: '2s' } },
    { match: { prefix: '/' }, route: { cluster: 'origin', timeout: '2s' } },
  ]);
  const originPort = (origin.address() as net.AddressInfo).port;
  const h2Port = (h2Origin.address() as net.AddressInfo).port;
  proxy = await startProxy(
    bootstrap([httpListener('ingress', port, routes, hcm)], [staticCluster('scripted', [upPort]), staticCluster('origin', [originPort]), staticCluster('h2origin', [h2Port], { http2ProtocolOptions: {} })]),
  );
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
  origin?.close();
  h2Origin?.close();
});

/** Sends bytes in 1-3 pieces and waits for the reply (or up to `ms`). */
function sendPieces(data: Buffer, rand: () => number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, ms);
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', done);
    s.on('close', done);
    const cut1 = Math.floor(rand() * data.length);
    const cut2 = cut1 + Math.floor(rand() * (data.length - cut1));
    s.write(data.subarray(0, cut1));
    setImmediate(() => {
      if (s.destroyed) return;
      s.write(data.subarray(cut1, cut2));
      setImmediate(() => !s.destroyed && s.end(data.subarray(cut2)));
    });
  });
}

async function assertHealthy(context: string): Promise<void> {
  assert.equal(proxy.child.exitCode, null, `proxy exited after ${context}`);
  const text = await rawExchange(port, 'GET /healthcheck HTTP/1.1\r\nHost: fuzz\r\n\r\n', (s) => s.endsWith('ok'), 3000);
  assert.match(text, /^HTTP\/1\.1 200 /, `a well-formed request after ${context} got: ${JSON.stringify(text.slice(0, 200))}`);
}

test(`mutated requests never take the proxy down (${CASES} cases, seed ${SEED})`, async () => {
  const rand = seededRandom(SEED);
  for (let i = 0; i < CASES; i++) {
    const seed = REQUESTS[Math.floor(rand() * REQUESTS.length)]!;
    const data = mutate(Buffer.from(seed, 'latin1'), rand);
    const reply = await sendPieces(data, rand, 150);
    // Whatever came back is HTTP/1.1 (or an HTTP/2 frame for a preface), never a stack trace.
    if (reply.length > 0 && !reply.startsWith('HTTP/1.1 ') && !seed.startsWith('PRI')) {
      assert.fail(`case ${i}: unexpected reply ${JSON.stringify(reply.slice(0, 80))} to ${JSON.stringify(data.toString('latin1'))}`);
    }
    if (i % 50 === 49) await assertHealthy(`request case ${i}`);
  }
  await assertHealthy('the last request case');
  assert.doesNotMatch(proxy.logs(), /uncaught|TypeError|RangeError|ReferenceError/i);
});

test(`mutated upstream responses never take the proxy down (${CASES} cases, seed ${SEED})`, async () => {
  const rand = seededRandom(SEED ^ 0x5bd1e995);
  for (let i = 0; i < CASES; i++) {
    scripted.set(i, mutate(Buffer.from(RESPONSES[Math.floor(rand() * RESPONSES.length)]!, 'latin1'), rand));
    const reply = await sendPieces(Buffer.from(`GET /fuzz/${i} HTTP/1.1\r\nHost: fuzz\r\n\r\n`), rand, 300);
    scripted.delete(i);
    if (reply.length > 0) assert.match(reply, /^HTTP\/1\.1 \d{3} /, `case ${i}: ${JSON.stringify(reply.slice(0, 80))}`);
    if (i % 50 === 49) await assertHealthy(`response case ${i}`);
  }
  await assertHealthy('the last response case');
  assert.doesNotMatch(proxy.logs(), /uncaught|TypeError|RangeError|ReferenceError/i);
});
