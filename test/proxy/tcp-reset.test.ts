/**
 * A TCP proxy connection passes a reset on as a reset, as Envoy's tcp_proxy does (an upstream's RST
 * reaches the client as one, and a client's reaches the upstream): a FIN would tell the other side
 * that the stream ended whole. A FIN is still a half-close (test/proxy/websocket-tcp.test.ts).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { address, bootstrap, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

let upstream: net.Server;
let proxy: RunningProxy;
let port: number;
/** The next upstream connection: how it ended ('reset' on ECONNRESET, else 'fin'), and what it read. */
let nextUpstream: Promise<{ socket: net.Socket; ending: Promise<string> }>;
let onUpstream: (u: { socket: net.Socket; ending: Promise<string> }) => void;

function expectUpstream(): void {
  nextUpstream = new Promise((r) => (onUpstream = r));
}

before(async () => {
  upstream = net.createServer({ allowHalfOpen: true }, (socket) => {
    const ending = new Promise<string>((resolve) => {
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNRESET' ? 'reset' : `error ${err.code}`));
      socket.once('end', () => resolve('fin'));
    });
    onUpstream({ socket, ending });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = await freePort();
  const listener = {
    name: 'tcp',
    address: address(port),
    filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 'tcp', cluster: 'up' } }] }],
  };
  proxy = await startProxy(bootstrap([listener], [staticCluster('up', [(upstream.address() as net.AddressInfo).port])]));
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
});

/** A client through the proxy, once the proxy has connected its upstream and a byte has gone through. */
async function connected(): Promise<{ client: net.Socket; up: { socket: net.Socket; ending: Promise<string> }; clientEnding: Promise<string> }> {
  expectUpstream();
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const clientEnding = new Promise<string>((resolve) => {
    client.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNRESET' ? 'reset' : `error ${err.code}`));
    client.once('end', () => resolve('fin'));
  });
  client.resume();
  const up = await nextUpstream;
  const first = new Promise((r) => up.socket.once('data', r));
  client.write('hello');
  await first;
  return { client, up, clientEnding };
}

test("an upstream's reset reaches the client as a reset", async () => {
  const { client, up, clientEnding } = await connected();
  up.socket.resetAndDestroy();
  assert.equal(await clientEnding, 'reset');
  client.destroy();
});

test("a client's reset reaches the upstream as a reset", async () => {
  const { client, up } = await connected();
  client.resetAndDestroy();
  assert.equal(await up.ending, 'reset');
});

test("a client's FIN still reaches the upstream as a FIN", async () => {
  const { client, up } = await connected();
  client.end();
  assert.equal(await up.ending, 'fin');
  up.socket.destroy();
  client.destroy();
});

test("an upstream that resets after its FIN: what it sent before still reaches a client that reads slowly", async () => {
  const { client, up } = await connected();
  client.pause();
  const reply = Buffer.alloc(1024 * 1024, 0x72);
  // The upstream answers, half-closes, then closes for good: bytes that reach it after that make
  // its kernel answer with an RST, which ends a stream that had already ended.
  await new Promise<void>((resolve) => up.socket.end(reply, resolve));
  await new Promise((r) => setTimeout(r, 200));
  up.socket.destroy();
  client.write('one more thing');
  await new Promise((r) => setTimeout(r, 100));
  client.write('and another');
  await new Promise((r) => setTimeout(r, 200));
  let got = 0;
  client.on('data', (d: Buffer) => (got += d.length));
  const how = await new Promise<string>((resolve) => {
    client.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    client.once('end', () => resolve('fin'));
    client.resume();
  });
  assert.equal(how, 'fin');
  assert.equal(got, reply.length);
  client.destroy();
});
