import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deliverReadsDirectly } from '../../src/proxy/http/direct-reads.js';
import { acceptedPair } from '../support/loopback-pair.js';

test('accepted sockets on this Node deliver reads directly, in order, and still end', async () => {
  const { client, socket, close } = await acceptedPair();
  const got: Buffer[] = [];
  assert.equal(deliverReadsDirectly(socket, (c, n) => got.push(c.subarray(0, n))), true, 'the fast path is available on the Node version the project pins');
  const ended = new Promise<void>((r) => socket.once('end', r));
  socket.resume();
  const parts = Array.from({ length: 200 }, (_, i) => `part-${i};`);
  for (const p of parts) client.write(p);
  client.end();
  await ended;
  // Kept chunks were not overwritten by later reads into the same slab.
  assert.equal(Buffer.concat(got).toString(), parts.join(''));
  close();
});

test('bytes that arrived before the switch are delivered first', async () => {
  const { client, socket, close } = await acceptedPair();
  client.write('first;');
  const first = await new Promise<Buffer>((r) => socket.once('data', r));
  socket.pause();
  client.write('buffered;');
  await new Promise<void>((r) => setTimeout(r, 100));
  const got: string[] = [first.toString()];
  assert.equal(deliverReadsDirectly(socket, (c, n) => got.push(c.toString('latin1', 0, n))), true);
  assert.equal(got.join(''), 'first;buffered;', 'what waited in the paused socket came out at the switch');
  const ended = new Promise<void>((r) => socket.once('end', r));
  socket.resume();
  client.end('tail');
  await ended;
  assert.equal(got.join(''), 'first;buffered;tail');
  close();
});

test('a socket that already has a data listener is left alone', async () => {
  const { socket, close } = await acceptedPair();
  socket.on('data', () => {});
  assert.equal(deliverReadsDirectly(socket, () => {}), false);
  close();
});
