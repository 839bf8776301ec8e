import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import { DirectWriter } from '../../src/proxy/http/direct-writes.js';
import { acceptedPair } from '../support/loopback-pair.js';

function collect(client: net.Socket): { text: () => string; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((r) => client.once('end', r));
  return { text: () => Buffer.concat(chunks).toString('latin1'), ended };
}

/** Counts what went through the Writable machinery instead of the direct path. */
function countWritableWrites(socket: net.Socket): () => number {
  let calls = 0;
  const original = socket._write.bind(socket);
  socket._write = (chunk, encoding, cb) => {
    calls++;
    original(chunk, encoding, cb);
  };
  return () => calls;
}

test('writes go straight to the handle on this Node, in order with socket.write() and end()', async () => {
  const { client, socket, close } = await acceptedPair();
  const writer = new DirectWriter(socket, () => {});
  assert.equal(writer.direct, true, 'the fast path is available on the Node version the project pins');
  const writableWrites = countWritableWrites(socket);
  const got = collect(client);
  const expected: string[] = [];
  for (let i = 0; i < 100; i++) {
    const line = `line-${i}\u00ff;`;
    expected.push(line);
    assert.equal(i % 2 === 0 ? writer.writeLatin1(line) : writer.writeBuffer(Buffer.from(line, 'latin1')), true);
  }
  assert.equal(writableWrites(), 0, 'small writes the kernel takes at once bypass Writable');
  socket.write('via-writable;');
  expected.push('via-writable;');
  socket.end('fin');
  expected.push('fin');
  await got.ended;
  assert.equal(got.text(), expected.join(''), 'latin1 bytes survive and order holds');
  close();
});

test('a write the kernel cannot take reports backpressure, keeps order behind it and calls onDrain', async () => {
  const { client, socket, close } = await acceptedPair();
  let drains = 0;
  const writer = new DirectWriter(socket, () => drains++);
  client.pause();
  const big = Buffer.alloc(16 * 1024 * 1024, 0x61);
  assert.equal(writer.writeBuffer(big), false, 'bytes are waiting in libuv');
  // Writable knows nothing of the direct write, so its own write is queued behind it in libuv.
  socket.write('tail');
  // Later direct writes fall back while Writable has bytes in flight, so they too stay in order.
  writer.writeLatin1('!');
  const got = collect(client);
  const drained = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (drains > 0) {
        clearInterval(poll);
        resolve();
      }
    }, 10);
  });
  client.resume();
  await drained;
  socket.end();
  await got.ended;
  const text = got.text();
  assert.equal(text.length, big.length + 5);
  assert.equal(text.slice(-5), 'tail!');
  assert.equal(text.indexOf('t'), big.length, 'nothing overtook the large write');
  close();
});

test('writing to a destroyed socket neither throws nor crashes the process', async () => {
  const { client, socket, close } = await acceptedPair();
  const writer = new DirectWriter(socket, () => {});
  socket.on('error', () => {});
  client.pause();
  // A pending direct write, then the socket goes away under it.
  writer.writeBuffer(Buffer.alloc(8 * 1024 * 1024));
  socket.destroy();
  assert.doesNotThrow(() => writer.writeLatin1('after destroy'));
  await new Promise<void>((r) => setTimeout(r, 50));
  close();
});
