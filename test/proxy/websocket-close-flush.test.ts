/**
 * When the upstream of an upgraded (WebSocket) connection closes, what the proxy already took from
 * it still reaches the client before the client's connection closes (Envoy's FlushWrite): destroying
 * it at once dropped the tail queued behind a slow reader's full window.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { H1DownstreamConnection } from '../../src/proxy/http/h1-downstream-connection.js';
import type { HttpListenerContext } from '../../src/proxy/http/http-listener-context.js';
import type { HttpStream } from '../../src/proxy/http/http-stream.js';
import { noReads } from '../../src/telemetry/access-log-reads.js';
import { acceptedPair, readToEnd } from '../support/loopback-pair.js';

const TAIL = Buffer.alloc(1000, 0x74);

test('an upstream that sends its last bytes and closes: a client behind a full window still gets them', async () => {
  const down = await acceptedPair();
  const up = await acceptedPair();
  const hcm = { maxRequestHeadersKb: 60, commonHttpProtocolOptions: { maxHeadersCount: 100, idleTimeout: 0 }, requestHeadersTimeout: 0, streamIdleTimeout: 0 };
  const conn = new H1DownstreamConnection(down.socket, () => ({ hcm, accessLogReads: noReads(), drainClose: () => false }) as unknown as HttpListenerContext, { onConnectionClosed: () => undefined }, 'http', '', undefined);
  let tunnelClosed = false;
  const stream = { onTunnelClosed: () => (tunnelClosed = true) } as unknown as HttpStream;
  conn.startTunnel([], up.client, Buffer.alloc(0), stream);
  const client = down.client;
  client.pause();
  await new Promise((r) => setTimeout(r, 20));
  // Earlier bytes fill the path to the client until the kernel takes no more: the socket's own
  // queue is then short (under its high-water mark), so the tunnel keeps reading the upstream.
  let filled = 0;
  const piece = Buffer.alloc(1024, 0x66);
  while (down.socket.writableLength === 0 && filled < 256 * 1024 * 1024) {
    down.socket.write(piece);
    filled += piece.length;
  }
  assert.ok(down.socket.writableLength > 0, 'the path to the client is full');
  up.socket.end(TAIL);
  await new Promise((r) => setTimeout(r, 200));
  const { bytes: got, last } = await readToEnd(client, 'end');
  const head = 'HTTP/1.1 101 Switching Protocols\r\n\r\n'.length;
  assert.equal(got, head + filled + TAIL.length);
  assert.equal(last, 0x74);
  client.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(tunnelClosed, 'the stream learnt that the tunnel closed');
  down.close();
  up.close();
});
