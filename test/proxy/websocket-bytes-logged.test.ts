/**
 * An upgraded stream's access log line and Istio metrics count every byte of the tunnel: the frames a
 * server sends in the same read as its 101 (a greeting) and the frames a client sends right behind its
 * upgrade request, before the 101 has come, are tunnel bytes like the rest. Before, the counting began
 * after both had been passed on, so a greeting and an eager client's first message were never counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { websocketBootstrap } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { encodeFrame, FrameReader, OP_CLOSE, OP_TEXT, upgradeResponse, wsConnect } from '../support/ws-frames.js';

const accessLog = join(mkdtempSync(join(tmpdir(), 'bulwark-ws-bytes-')), 'access.log');
const GREETING = encodeFrame(OP_TEXT, Buffer.from('welcome, this is the server speaking first'), false);
let server: http.Server;
let proxy: RunningProxy;
let port: number;

before(async () => {
  server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => undefined);
    // The 101 and the greeting in one write, so they arrive in one read.
    socket.write(Buffer.concat([Buffer.from(upgradeResponse(req)), GREETING]));
    const reader = new FrameReader((f) => {
      if (f.opcode === OP_CLOSE) socket.end(encodeFrame(OP_CLOSE, f.payload, false));
      else socket.write(encodeFrame(f.opcode, f.payload, false));
    });
    socket.on('data', (d: Buffer) => reader.push(d));
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

test('the greeting sent with the 101 and the message sent before it are counted in the access log and the metrics', async () => {
  // The client's first message goes in the same write as its upgrade request.
  const first = encodeFrame(OP_TEXT, Buffer.from('eager first message'), true);
  const { socket, status, rest } = await wsConnect(port, '/chat', '', 'Upgrade', 'websocket', first);
  assert.equal(status, 101);
  const frames: Buffer[] = [];
  const reader = new FrameReader((f) => frames.push(f.payload));
  socket.on('data', (d: Buffer) => reader.push(d));
  reader.push(rest);
  socket.resume();
  while (frames.length < 2) await new Promise((r) => setTimeout(r, 20));
  assert.equal(frames[0]!.toString(), 'welcome, this is the server speaking first');
  assert.equal(frames[1]!.toString(), 'eager first message');
  const close = encodeFrame(OP_CLOSE, Buffer.from([3, 232]), true);
  socket.write(close);
  await new Promise((r) => socket.once('end', r));
  socket.destroy();

  const echo = encodeFrame(OP_TEXT, Buffer.from('eager first message'), false);
  const serverClose = encodeFrame(OP_CLOSE, Buffer.from([3, 232]), false);
  const sent = GREETING.length + echo.length + serverClose.length;
  const received = first.length + close.length;
  let line: Record<string, unknown> | undefined;
  for (let i = 0; i < 40 && line === undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
    line = readFileSync(accessLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.path === '/chat');
  }
  assert.equal(line?.response_code, 101);
  assert.equal(line?.bytes_sent, sent);
  assert.equal(line?.bytes_received, received);
  const metrics = (await proxy.get('/stats/prometheus')).body;
  assert.match(metrics, new RegExp(`^istio_response_bytes_sum\\{[^}]*response_code="101"[^}]*\\} ${sent}$`, 'm'));
  assert.match(metrics, new RegExp(`^istio_request_bytes_sum\\{[^}]*response_code="101"[^}]*\\} ${received}$`, 'm'));
});
