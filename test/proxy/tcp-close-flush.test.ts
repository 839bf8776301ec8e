/**
 * When the upstream of a TCP proxy connection closes, what the proxy already took from it still
 * reaches the client (Envoy closes the downstream with FlushWrite): destroying the client's socket
 * dropped a tail still queued behind a full receive window.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { ClusterLookup, UpstreamCluster } from '../../src/proxy/clusters/upstream-cluster.js';
import { TcpProxySession, type TcpSessionRecord } from '../../src/proxy/listeners/tcp-proxy.js';
import type { TcpProxy } from '../../src/model/listener.js';
import { acceptedPair, readToEnd } from '../support/loopback-pair.js';

const TAIL = Buffer.alloc(1000, 0x74);

test('an upstream that sends its last bytes and closes: a client behind a full window still gets them', async () => {
  let sendTail: () => void = () => undefined;
  const upstream = net.createServer({ allowHalfOpen: true }, (s) => (sendTail = () => s.end(TAIL)));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const host = { address: '127.0.0.1', port: (upstream.address() as net.AddressInfo).port, key: 'u', hostname: '', activeRequests: 0 };
  const cluster = {
    name: 'u',
    model: { connectTimeout: 1000 },
    chooseHost: () => host,
    connectTcp: () => net.connect(host.port, host.address),
    tcpReadyEvent: 'connect',
    recordOutcome: () => undefined,
  } as unknown as UpstreamCluster;
  const clusters: ClusterLookup = { get: () => cluster };
  const { client, socket, close } = await acceptedPair();
  let closed: TcpSessionRecord | undefined;
  const config: TcpProxy = { statPrefix: 'tcp', cluster: 'u', idleTimeout: 0, accessLog: [] };
  new TcpProxySession(socket, config, 'tcp', '', clusters, { onTcpOpen: () => undefined, onTcpBytes: () => undefined, onTcpClose: (r) => (closed = r) });
  await new Promise((r) => upstream.once('connection', r));
  await new Promise((r) => setImmediate(r));
  // The client sends its FIN and reads nothing for now.
  client.allowHalfOpen = true;
  client.pause();
  client.end();
  // Earlier bytes fill the path to the client until the kernel takes no more: the socket's own
  // queue is then short (under its high-water mark), so the proxy keeps reading the upstream.
  let filled = 0;
  const piece = Buffer.alloc(1024, 0x66);
  while (socket.writableLength === 0 && filled < 256 * 1024 * 1024) {
    socket.write(piece);
    filled += piece.length;
  }
  assert.ok(socket.writableLength > 0, 'the path to the client is full');
  sendTail();
  await new Promise((r) => setTimeout(r, 200));
  const { bytes: got, last } = await readToEnd(client, 'close');
  assert.equal(got, filled + TAIL.length);
  assert.equal(last, 0x74);
  assert.ok(closed, 'the session reported its end');
  close();
  upstream.close();
});
