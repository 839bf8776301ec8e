/**
 * How an upgraded (WebSocket) connection ends is passed on as it happened: a reset on one side
 * reaches the other as a reset, not as the FIN of a stream that ended whole, and the access log says
 * who cut it (Envoy's UC with upstream_reset_after_response_started{connection_termination}, DC with
 * downstream_remote_disconnect). A FIN is still a half-close: the other direction keeps flowing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { websocketBootstrap } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { upgradeResponse, wsConnect } from '../support/ws-frames.js';

const accessLog = join(mkdtempSync(join(tmpdir(), 'bulwark-ws-reset-')), 'access.log');
let server: http.Server;
let proxy: RunningProxy;
let port: number;
/** How each upstream socket ended, by request path: 'reset' (ECONNRESET) or 'fin'. */
const endings = new Map<string, { promise: Promise<string>; resolve: (how: string) => void }>();

/** How the upstream socket of the tunnel to `path` ended (asked for before or after it did). */
function upstreamEnding(path: string): { promise: Promise<string>; resolve: (how: string) => void } {
  let ending = endings.get(path);
  if (ending === undefined) {
    let resolve!: (how: string) => void;
    const promise = new Promise<string>((r) => (resolve = r));
    ending = { promise, resolve };
    endings.set(path, ending);
  }
  return ending;
}
const LONG_ANSWER = Buffer.alloc(1024 * 1024, 0x72);
/** What the upstream that half-closed first read until the client's FIN. */
let readAfterFin: Promise<string> | undefined;

before(async () => {
  server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    const path = req.url ?? '';
    const { resolve } = upstreamEnding(path);
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNRESET' ? 'reset' : `error ${err.code}`));
    socket.once('end', () => resolve('fin'));
    socket.write(upgradeResponse(req));
    socket.on('data', (d: Buffer) => {
      if (path === '/upstream-resets') socket.resetAndDestroy();
      else if (path === '/half-close') socket.write(`got ${d.length}`);
    });
    // Answers the client's FIN after it: the direction towards the client still flows.
    if (path === '/half-close' || path === '/fin-before-101') socket.once('end', () => socket.end('and goodbye'));
    // Answers, half-closes, then closes for good: what the client sends after that meets an RST.
    if (path === '/answer-then-close') {
      socket.on('error', () => undefined);
      socket.end(LONG_ANSWER, () => setTimeout(() => socket.destroy(), 200));
    }
    // Half-closes first and still reads what the client sends after it.
    if (path === '/upstream-half-closes') {
      let read = '';
      socket.on('data', (d: Buffer) => (read += d.toString('latin1')));
      readAfterFin = new Promise((resolve) => socket.once('end', () => resolve(read)));
      socket.end('server done');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = await freePort();
  proxy = await startProxy(websocketBootstrap(port, (server.address() as net.AddressInfo).port, accessLog));
});

after(async () => {
  await proxy?.stop();
  server?.closeAllConnections();
  server?.close();
});

/** The access log line of the tunnel to `path`, once written (at the tunnel's close). */
async function logLine(path: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(accessLog, 'utf8');
    } catch {
      // Not yet created.
    }
    const line = text.split('\n').find((l) => l.includes(`"path":"${path}"`));
    if (line !== undefined) return JSON.parse(line) as Record<string, unknown>;
    if (Date.now() > deadline) throw new Error(`no access log line for ${path} in:\n${text}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** How the client's socket ended: 'reset' (ECONNRESET) or 'fin', and what it read before. */
function clientEnding(socket: net.Socket): Promise<{ how: string; read: string }> {
  let read = '';
  socket.on('data', (d: Buffer) => (read += d.toString('latin1')));
  socket.resume();
  return new Promise((resolve) => {
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ how: err.code === 'ECONNRESET' ? 'reset' : `error ${err.code}`, read }));
    socket.once('end', () => resolve({ how: 'fin', read }));
  });
}

test('an upstream that resets the tunnel: the client meets a reset, and the log says UC', async () => {
  const { socket, status } = await wsConnect(port, '/upstream-resets');
  assert.equal(status, 101);
  const ending = clientEnding(socket);
  socket.write('anything');
  assert.equal((await ending).how, 'reset');
  socket.destroy();
  const line = await logLine('/upstream-resets');
  assert.equal(line.response_code, 101);
  assert.equal(line.response_flags, 'UC');
  assert.equal(line.response_code_details, 'upstream_reset_after_response_started{connection_termination}');
  assert.equal(line.bytes_received, 'anything'.length);
});

test('a client that resets the tunnel: the upstream meets a reset, and the log says DC', async () => {
  const { socket, status } = await wsConnect(port, '/client-resets');
  assert.equal(status, 101);
  socket.write('last words');
  await new Promise((r) => setTimeout(r, 100));
  socket.resetAndDestroy();
  assert.equal(await upstreamEnding('/client-resets').promise, 'reset');
  const line = await logLine('/client-resets');
  assert.equal(line.response_code, 101);
  assert.equal(line.response_flags, 'DC');
  assert.equal(line.response_code_details, 'downstream_remote_disconnect');
  assert.equal(line.bytes_received, 'last words'.length);
});

test("a client's FIN reaches the upstream, whose answer after it still reaches the client; no flag", async () => {
  const { socket, status } = await wsConnect(port, '/half-close');
  assert.equal(status, 101);
  socket.allowHalfOpen = true;
  const ending = clientEnding(socket);
  socket.end('12345');
  assert.equal(await upstreamEnding('/half-close').promise, 'fin');
  const { how, read } = await ending;
  assert.equal(how, 'fin');
  assert.equal(read, 'got 5and goodbye');
  socket.destroy();
  const line = await logLine('/half-close');
  assert.equal(line.response_flags, '-');
  assert.equal(line.response_code_details, 'via_upstream');
  assert.equal(line.bytes_received, 5);
  assert.equal(line.bytes_sent, 'got 5and goodbye'.length);
});

test("an upstream's FIN reaches the client, whose bytes after it still reach the upstream; no flag", async () => {
  const { socket, status, rest } = await wsConnect(port, '/upstream-half-closes');
  assert.equal(status, 101);
  socket.allowHalfOpen = true;
  const ended = new Promise((r) => socket.once('end', r));
  let read = rest.toString('latin1');
  socket.on('data', (d: Buffer) => (read += d.toString('latin1')));
  socket.resume();
  await ended;
  assert.equal(read, 'server done');
  const closed = new Promise((r) => socket.once('close', r));
  socket.end('still talking');
  assert.equal(await readAfterFin, 'still talking');
  await closed;
  const line = await logLine('/upstream-half-closes');
  assert.equal(line.response_flags, '-');
  assert.equal(line.bytes_received, 'still talking'.length);
});

test('an upstream that resets after its FIN: what it sent before still reaches a client that reads slowly', async () => {
  const { socket, status, rest } = await wsConnect(port, '/answer-then-close');
  assert.equal(status, 101);
  socket.allowHalfOpen = true;
  await new Promise((r) => setTimeout(r, 400));
  // Bytes that reach the closed upstream make its kernel answer with an RST.
  socket.write('one more thing');
  await new Promise((r) => setTimeout(r, 100));
  socket.write('and another');
  await new Promise((r) => setTimeout(r, 200));
  const { how, read } = await clientEnding(socket);
  assert.equal(how, 'fin');
  assert.equal(rest.length + read.length, LONG_ANSWER.length);
  socket.destroy();
  const line = await logLine('/answer-then-close');
  assert.equal(line.response_flags, '-');
  assert.equal(line.bytes_sent, LONG_ANSWER.length);
});

test("a client's FIN sent with its upgrade request, before the 101, still reaches the upstream", async () => {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((r) => socket.once('connect', r));
  const ending = clientEnding(socket);
  socket.end('GET /fin-before-101 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  assert.equal(await upstreamEnding('/fin-before-101').promise, 'fin');
  const { how, read } = await ending;
  assert.equal(how, 'fin');
  assert.match(read, /^HTTP\/1\.1 101 [^]*\r\n\r\nand goodbye$/);
  socket.destroy();
});
