import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

/** RFC 6455 frames and handshake, enough to speak WebSocket through the proxy without a library. */

export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;

export function acceptKey(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** One frame; clients mask (RFC 6455 §5.3), servers do not. */
export function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  else if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + ext);
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([head, body]);
}

export interface Frame {
  opcode: number;
  payload: Buffer;
}

/** Reassembles frames from a byte stream (unfragmented messages only). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (f: Frame) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      const keyAt = at;
      if (masked) at += 4;
      if (b.length < at + len) return;
      const payload = Buffer.from(b.subarray(at, at + len));
      if (masked) for (let i = 0; i < len; i++) payload[i]! ^= b[keyAt + (i & 3)]!;
      this.buf = b.subarray(at + len);
      this.onFrame({ opcode: b[0]! & 0x0f, payload });
    }
  }
}

/** The 101 head that accepts `req`. */
export function upgradeResponse(req: http.IncomingMessage): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}\r\n\r\n`;
}

/** Completes a server-side handshake on an 'upgrade' socket. */
export function acceptUpgrade(req: http.IncomingMessage, socket: net.Socket): void {
  socket.write(upgradeResponse(req));
}

/**
 * Opens a WebSocket through `port`; resolves with the socket, the 101 head and any bytes after it.
 * `sendWithHead` goes in the same write as the request, before any answer (an eager client's first frames).
 */
export function wsConnect(port: number, path: string, extraHead = '', connection = 'Upgrade', upgrade = 'websocket', sendWithHead?: Buffer): Promise<{ socket: net.Socket; head: string; rest: Buffer; status: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const key = randomBytes(16).toString('base64');
    let got: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const head = got.subarray(0, end).toString('latin1');
      resolve({ socket, head, rest: got.subarray(end + 4), status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    const head = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: ${upgrade}\r\nConnection: ${connection}\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHead}\r\n`, 'latin1');
    socket.write(sendWithHead === undefined ? head : Buffer.concat([head, sendWithHead]));
  });
}

/** A WebSocket echo server on loopback: echoes each message and answers the client's close. */
export async function startWsEchoServer(): Promise<{ server: http.Server; port: number; close: () => void }> {
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => undefined);
    acceptUpgrade(req, socket);
    const reader = new FrameReader((f) => {
      if (f.opcode === OP_CLOSE) socket.end(encodeFrame(OP_CLOSE, f.payload, false));
      else socket.write(encodeFrame(f.opcode, f.payload, false));
    });
    socket.on('data', (d: Buffer) => reader.push(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = (): void => {
    server.closeAllConnections();
    server.close();
  };
  return { server, port: (server.address() as net.AddressInfo).port, close };
}
