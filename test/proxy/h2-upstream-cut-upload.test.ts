/**
 * A request body cut short must reach an HTTP/2 upstream as a reset. A client that goes away in the
 * middle of an upload leaves the proxy with half a body; if the upstream stream were ended instead
 * (END_STREAM, which node:http2's close(code) sends before its reset), the upstream would read the
 * half as the whole request and act on it.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

let upstream: http2.Http2Server;
let proxy: RunningProxy;
let port: number;
/** What the upstream saw of each request body, in order: 'data', 'end' (complete) or 'aborted'. */
const seen: string[][] = [];
let onStreamClosed: (() => void) | undefined;

before(async () => {
  upstream = http2.createServer();
  upstream.on('stream', (stream) => {
    const events: string[] = [];
    seen.push(events);
    stream.on('data', () => events.push('data'));
    stream.on('end', () => events.push('end'));
    stream.on('aborted', () => events.push('aborted'));
    stream.on('error', () => undefined);
    stream.on('close', () => onStreamClosed?.());
    // Answers only once the whole body is in, as an application acting on the request would.
    stream.on('end', () => {
      if (!stream.destroyed) {
        stream.respond({ ':status': 200 });
        stream.end('stored');
      }
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  proxy = await startProxy(
    bootstrap(
      [httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'h2', timeout: '5s' } }]))],
      [staticCluster('h2', [(upstream.address() as AddressInfo).port], { http2ProtocolOptions: {} })],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

test('a client that drops mid-upload resets the upstream stream: the upstream never sees a complete body', async () => {
  const closed = new Promise<void>((resolve) => (onStreamClosed = resolve));
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  await new Promise<void>((r) => client.once('connect', r));
  client.write('POST /upload HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  // Let the head and the first chunk reach the upstream, then vanish.
  await new Promise((r) => setTimeout(r, 300));
  client.destroy();
  await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
  assert.equal(seen.length, 1);
  const events = seen[0]!;
  assert.ok(events.includes('data'), `the first chunk arrived (${events.join(',')})`);
  const end = events.indexOf('end');
  const aborted = events.indexOf('aborted');
  assert.ok(aborted >= 0, `the upstream saw the stream aborted (${events.join(',')})`);
  // node:http2 emits 'end' after 'aborted' as it tears the stream down; before it, it would mean END_STREAM.
  assert.ok(end < 0 || end > aborted, `no END_STREAM before the reset (${events.join(',')})`);
});
