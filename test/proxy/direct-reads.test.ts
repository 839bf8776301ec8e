import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { deliverReadsDirectly } from '../../src/proxy/http/direct-reads.js';

/** An accepted socket and its client, switched to direct reads. */
async function accepted(onData: (chunk: Buffer) => void): Promise<{ server: net.Server; client: net.Socket; socket: net.Socket; direct: boolean }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await new Promise<net.Socket>((r) => server.once('connection', r));
  const direct = deliverReadsDirectly(socket, onData);
  return { server, client, socket, direct };
}

test('accepted sockets on this Node deliver reads directly, in order, and still end', async () => {
  const got: Buffer[] = [];
  const { server, client, socket, direct } = await accepted((c) => got.push(c));
  assert.equal(direct, true, 'the fast path is available on the Node version the project pins');
  const ended = new Promise<void>((r) => socket.once('end', r));
  socket.resume();
  const parts = Array.from({ length: 200 }, (_, i) => `part-${i};`);
  for (const p of parts) client.write(p);
  client.end();
  await ended;
  assert.equal(Buffer.concat(got).toString(), parts.join(''));
  socket.destroy();
  server.close();
});

test('bytes that arrived before the switch are delivered first', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await new Promise<net.Socket>((r) => server.once('connection', r));
  client.write('first;');
  const first = await new Promise<Buffer>((r) => socket.once('data', r));
  socket.pause();
  client.write('buffered;');
  await new Promise<void>((r) => setTimeout(r, 100));
  const got: string[] = [first.toString()];
  assert.equal(deliverReadsDirectly(socket, (c) => got.push(c.toString())), true);
  assert.equal(got.join(''), 'first;buffered;', 'what waited in the paused socket came out at the switch');
  const ended = new Promise<void>((r) => socket.once('end', r));
  socket.resume();
  client.end('tail');
  await ended;
  assert.equal(got.join(''), 'first;buffered;tail');
  socket.destroy();
  server.close();
});

test('a socket that already has a data listener is left alone', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const socket = await new Promise<net.Socket>((r) => server.once('connection', r));
  socket.on('data', () => {});
  assert.equal(deliverReadsDirectly(socket, () => {}), false);
  client.destroy();
  socket.destroy();
  server.close();
});
