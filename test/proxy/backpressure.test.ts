/**
 * Bodies stream with backpressure, never buffered whole: a client that stops reading stops the
 * upstream's response, and an upstream that stops reading stops the client's upload. What the
 * proxy may hold is a read or two on top of the kernel's socket buffers, so the far side gets far
 * ahead of the stalled side only by those buffers (a few MiB on loopback), never by the body.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const BODY = 512 * 1024 * 1024;
/** Socket buffers on loopback autotune up to a few MiB each way, and there are several sockets in the path. */
const BOUND = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

let upstream: http.Server;
let proxy: RunningProxy;
let port: number;
/** Bytes the upstream has handed to its socket for the response in flight. */
let responseWritten = 0;
/** Bytes the upstream has read of the upload in flight. */
let uploadRead = 0;
let uploadSocket: net.Socket | undefined;

before(async () => {
  upstream = http.createServer((req, res) => {
    if (req.url === '/download') {
      responseWritten = 0;
      res.writeHead(200, { 'content-length': String(BODY) });
      const pump = (): void => {
        while (responseWritten < BODY) {
          responseWritten += CHUNK.length;
          if (!res.write(CHUNK)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      res.on('close', () => undefined);
      return;
    }
    // /upload: read one chunk, then stop reading (the socket stays open).
    uploadRead = 0;
    uploadSocket = req.socket;
    req.once('data', (c: Buffer) => {
      uploadRead += c.length;
      req.pause();
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'u', timeout: '0s' } }]);
  proxy = await startProxy(bootstrap([httpListener('h', port, routes)], [staticCluster('u', [(upstream.address() as AddressInfo).port])]));
});

after(async () => {
  uploadSocket?.destroy();
  await proxy?.stop();
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('HTTP/1.1: a client that stops reading holds the upstream back by socket buffers, not by the body', async () => {
  const client = net.connect(port, '127.0.0.1');
  let received = 0;
  let stopReading = true;
  client.on('data', (d: Buffer) => {
    received += d.length;
    if (stopReading && received > 1024 * 1024) client.pause();
  });
  client.write('GET /download HTTP/1.1\r\nHost: x\r\n\r\n');
  await wait(1500);
  const stalled = responseWritten;
  await wait(500);
  assert.ok(received > 1024 * 1024, `client got ${received} bytes`);
  assert.ok(responseWritten < BOUND, `upstream wrote ${responseWritten} bytes while the client read ${received}`);
  assert.equal(responseWritten, stalled, 'the upstream is held, not slowly draining into the proxy');
  // Reading again lets the response go on.
  stopReading = false;
  client.resume();
  await wait(500);
  assert.ok(responseWritten > stalled + 8 * 1024 * 1024, `upstream wrote ${responseWritten} bytes after the client read on`);
  client.destroy();
});

test('HTTP/2: a stream whose client stops reading holds the upstream back', async () => {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const req = session.request({ ':path': '/download' });
  let received = 0;
  req.on('data', (d: Buffer) => {
    received += d.length;
    if (received > 1024 * 1024) req.pause();
  });
  await wait(1500);
  const stalled = responseWritten;
  await wait(500);
  assert.ok(received > 1024 * 1024, `client got ${received} bytes`);
  assert.ok(responseWritten < BOUND, `upstream wrote ${responseWritten} bytes while the client read ${received}`);
  assert.equal(responseWritten, stalled);
  req.close();
  session.destroy();
});

test('HTTP/1.1: an upstream that stops reading holds the client\'s upload back', async () => {
  const client = net.connect(port, '127.0.0.1');
  let sent = 0;
  let blocked = false;
  client.on('error', () => undefined);
  await new Promise<void>((r) => client.once('connect', () => r()));
  client.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY}\r\n\r\n`);
  const pump = (): void => {
    while (sent < BODY) {
      sent += CHUNK.length;
      if (!client.write(CHUNK)) {
        blocked = true;
        client.once('drain', pump);
        return;
      }
    }
  };
  pump();
  await wait(1500);
  const stalled = sent;
  await wait(500);
  assert.ok(blocked);
  assert.ok(uploadRead > 0, 'the upload reached the upstream');
  assert.ok(sent < BOUND, `client sent ${sent} bytes while the upstream read ${uploadRead}`);
  assert.equal(sent, stalled);
  client.destroy();
});
