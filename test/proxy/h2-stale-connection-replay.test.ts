/**
 * A pooled HTTP/2 connection that dies under a stream, without a GOAWAY or a reset to say what the
 * upstream did, may have been stale, but the upstream may also have read the request. As on HTTP/1.1
 * (stale-connection-replay), only an idempotent request goes again on its own: a POST was sent again
 * (RFC 9110 §9.2.2: a proxy must not retry a non-idempotent request without being told to).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

let upstream: http2.Http2Server;
/** Requests the upstream received, as "METHOD path". */
const seen: string[] = [];
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = http2.createServer();
  // node:http2 keeps a session's socket from its handlers: the raw ones are kept here to cut.
  const sockets = new Set<net.Socket>();
  upstream.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const line = `${headers[':method']} ${headers[':path']}`;
    stream.resume();
    stream.on('end', () => {
      seen.push(line);
      // Read the whole request, then the connection goes away without a word, as a crashing server's does.
      if (line.includes('/vanish')) {
        for (const socket of sockets) socket.destroy();
        return;
      }
      stream.respond({ ':status': 200, 'content-length': '2' });
      stream.end('ok');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '3s' } }]);
  const cluster = staticCluster('up', [(upstream.address() as AddressInfo).port], { http2ProtocolOptions: {} });
  proxy = await startProxy(bootstrap([httpListener('in', port, routes)], [cluster]));
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

/** A warm-up request, then `request` on the same client connection: it goes on the upstream connection the first one used. */
function afterWarmUp(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    let sent = false;
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (!sent && out.endsWith('\r\n\r\nok')) {
        sent = true;
        out = '';
        socket.write(request);
      } else if (sent && /^HTTP\/1\.1 \d{3} [^]*\r\n\r\n/.test(out)) setTimeout(() => socket.destroy(), 100);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', reject);
    socket.write('GET /warm HTTP/1.1\r\nhost: a\r\n\r\n');
  });
}

test('a POST whose pooled HTTP/2 connection dies after the upstream read it is not sent again', async () => {
  const text = await afterWarmUp('POST /vanish-post HTTP/1.1\r\nhost: a\r\ncontent-length: 2\r\n\r\nhi');
  assert.match(text, /HTTP\/1\.1 503 /, text);
  assert.equal(seen.filter((l) => l === 'POST /vanish-post').length, 1, 'the proxy replayed a non-idempotent request');
});

test('a GET whose pooled HTTP/2 connection dies goes again on a fresh connection', async () => {
  await afterWarmUp('GET /vanish-get HTTP/1.1\r\nhost: a\r\n\r\n');
  assert.ok(seen.filter((l) => l === 'GET /vanish-get').length >= 2, 'an idempotent request was not sent again on a fresh connection');
});
