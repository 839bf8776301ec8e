/**
 * A pooled HTTP/1.1 connection the upstream closes as a request goes out looks like a stale
 * keep-alive connection, and the request may be sent again on another one. Whether the upstream read
 * it first cannot be known, so only an idempotent request goes again: RFC 9110 §9.2.2 says a proxy
 * must not retry a non-idempotent one on its own.
 */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

let upstream: net.Server;
/** Request lines the upstream read in full. */
const seen: string[] = [];
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.subarray(end + 4 + length);
        const line = head.slice(0, head.indexOf('\r\n'));
        seen.push(line);
        // Reads the whole request, then goes away without a word, as a crashing handler does.
        if (line.includes('/vanish')) return void socket.destroy();
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '3s' } }]);
  proxy = await startProxy(bootstrap([httpListener('in', port, routes)], [staticCluster('up', [(upstream.address() as AddressInfo).port])]));
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

/**
 * A warm-up request, then, once it is answered, `request` on the same client connection (one worker,
 * so one pool): the second goes on the upstream connection the first left in the pool.
 */
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

test('a POST whose pooled connection closes after the upstream read it is not sent again', async () => {
  const text = await afterWarmUp('POST /vanish-post HTTP/1.1\r\nhost: a\r\ncontent-length: 0\r\n\r\n');
  assert.match(text, /HTTP\/1\.1 503 /, text);
  assert.equal(seen.filter((l) => l.startsWith('POST /vanish-post')).length, 1, 'the proxy replayed a non-idempotent request');
});

test('a GET whose pooled connection closes goes again on a fresh connection, as for a stale keep-alive', async () => {
  await afterWarmUp('GET /vanish-get HTTP/1.1\r\nhost: a\r\n\r\n');
  assert.ok(seen.filter((l) => l.startsWith('GET /vanish-get')).length >= 2, 'an idempotent request was not retried on a fresh connection');
});
