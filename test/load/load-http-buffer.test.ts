import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark, rawHttpServer } from './load-support.js';

test('-httpbufferkb: a response over the buffer counts its first KiBs, and the next call on that connection reads its rest as Fortio does (status -1, a new connection)', async () => {
  const body = 'x'.repeat(3000);
  const server = await rawHttpServer(() => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  try {
    const cut = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '4', '-httpbufferkb', '1', '-json', '-', `${server.url}/`]);
    assert.equal(cut.code, 0, cut.stderr);
    const r = JSON.parse(cut.stdout) as FortioResult;
    assert.deepEqual(r.RetCodes, { '-1': 2, '200': 2 });
    assert.equal(r.SocketCount, 2);
    assert.equal(r.Sizes.Max, 1024);
    assert.match(cut.stderr, /\[W\] Buffer is too small for headers \+ data - change -httpbufferkb flag/);
    const whole = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '4', '-httpbufferkb', '4', '-json', '-', `${server.url}/`]);
    const w = JSON.parse(whole.stdout) as FortioResult;
    assert.deepEqual(w.RetCodes, { '200': 4 });
    assert.equal(w.SocketCount, 1);
    assert.ok(w.Sizes.Min > 3000, String(w.Sizes.Min));
    assert.doesNotMatch(whole.stderr, /Buffer is too small/);
  } finally {
    server.close();
  }
});

test('-httpccch reads a "Connection: close" response to the close, past its Content-Length', async () => {
  // The server says close, sends more than its length, and closes a while later.
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
      setTimeout(() => socket.end('EXTRA'), 300);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const head = 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n'.length;
  try {
    const framed = JSON.parse((await bulwark(['load', '-qps', '0', '-c', '1', '-n', '2', '-json', '-', url])).stdout) as FortioResult;
    assert.deepEqual(framed.RetCodes, { '200': 2 });
    assert.equal(framed.Sizes.Max, head + 2);
    assert.ok(framed.DurationHistogram.Max < 0.25, String(framed.DurationHistogram.Max));
    const toClose = JSON.parse((await bulwark(['load', '-qps', '0', '-c', '1', '-n', '2', '-httpccch', '-json', '-', url])).stdout) as FortioResult;
    assert.deepEqual(toClose.RetCodes, { '200': 2 });
    assert.equal(toClose.Sizes.Min, head + 2 + 'EXTRA'.length);
    assert.ok(toClose.DurationHistogram.Min >= 0.25, String(toClose.DurationHistogram.Min));
    assert.equal(toClose.SocketCount, 2);
  } finally {
    server.close();
  }
});
