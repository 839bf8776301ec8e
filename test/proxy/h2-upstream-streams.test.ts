/**
 * A cluster's http2ProtocolOptions.maxConcurrentStreams bounds the streams open at once on the upstream
 * connection: requests past it wait for a stream to end, and none is lost.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

let upstream: http2.Http2Server;
let proxy: RunningProxy;
let port: number;
let open = 0;
let mostOpen = 0;

before(async () => {
  upstream = http2.createServer();
  upstream.on('stream', (stream) => {
    open++;
    mostOpen = Math.max(mostOpen, open);
    stream.on('close', () => open--);
    setTimeout(() => {
      stream.respond({ ':status': 200 });
      stream.end('done');
    }, 150);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const cluster = staticCluster('h2', [(upstream.address() as AddressInfo).port], { http2ProtocolOptions: { maxConcurrentStreams: 2 } });
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'h2' } }]))], [cluster]));
});

after(async () => {
  await proxy?.stop();
  await new Promise<void>((r) => upstream.close(() => r()));
});

test('six concurrent requests over a two-stream limit all complete, never more than two open upstream', async () => {
  const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(`http://127.0.0.1:${port}/r${i}`).then(async (r) => `${r.status} ${await r.text()}`)));
  assert.deepEqual(replies, Array(6).fill('200 done'));
  assert.equal(mostOpen, 2);
});
