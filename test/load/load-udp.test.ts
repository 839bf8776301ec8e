import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import type { FortioSocketEchoResult } from '../../src/load/fortio-json.js';
import { bulwark } from './load-support.js';

/** A UDP server on loopback that answers each datagram with `answer(datagram)`, or nothing when it returns undefined. */
async function udpServer(answer: (msg: Buffer) => Buffer | undefined): Promise<{ port: number; received: Buffer[]; close(): void }> {
  const received: Buffer[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, from) => {
    received.push(msg);
    const reply = answer(msg);
    if (reply) socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { port: socket.address().port, received, close: () => socket.close() };
}

async function load(args: string[]): Promise<{ r: FortioSocketEchoResult; text: string }> {
  const run = await bulwark(['load', '-quiet', '-json', '-', ...args], 30_000);
  assert.equal(run.code, 0, run.stderr);
  return { r: JSON.parse(run.stdout) as FortioSocketEchoResult, text: run.stderr };
}

test('udp:// sends Fortio\'s payload as a datagram per call and reads it back: the fields and text of Fortio\'s udp runner', async () => {
  const echo = await udpServer((msg) => msg);
  try {
    const dest = `udp://127.0.0.1:${echo.port}`;
    const { r, text } = await load(['-qps', '0', '-n', '200', '-c', '2', dest]);
    assert.deepEqual(
      Object.keys(r).slice(Object.keys(r).indexOf('ID') + 1).filter((k) => k !== 'Bulwark'),
      ['Destination', 'Payload', 'ReqTimeout', 'RetCodes', 'SocketCount', 'BytesSent', 'BytesReceived'],
      'udprunner.RunnerResults\' own fields, in its order (no UnixDomainSocket)',
    );
    assert.deepEqual([r.RunType, r.Destination, r.Payload, r.ReqTimeout, r.RetCodes], ['UDP', dest, null, 0, { OK: 200 }]);
    assert.deepEqual([r.SocketCount, r.BytesSent, r.BytesReceived], [2, 4800, 4800]);
    assert.match(text, /^Sockets used: 2 \(for perfect no error run, would be 2\)\nTotal Bytes sent: 4800, received: 4800\nudp OK : 200 \(100\.0 %\)$/m);
    const first = echo.received.map((m) => m.toString('latin1')).filter((m) => m.endsWith('\n000000000001'));
    assert.deepEqual(first.sort(), ['Fortio\n0000\n000000000001', 'Fortio\n0001\n000000000001']);
  } finally {
    echo.close();
  }
});

test('udp:// counts Fortio\'s "timeout" after -udp-timeout, a short reply as "short read", other bytes as a mismatch', async () => {
  const silent = await udpServer(() => undefined);
  const short = await udpServer((msg) => msg.subarray(0, 5));
  const upper = await udpServer((msg) => Buffer.from(msg.toString('latin1').toUpperCase(), 'latin1'));
  try {
    const started = Date.now();
    const timedOut = await load(['-qps', '0', '-n', '3', '-c', '1', '-udp-timeout', '150ms', `udp://127.0.0.1:${silent.port}`]);
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual([timedOut.r.RetCodes, timedOut.r.SocketCount, timedOut.r.BytesSent, timedOut.r.BytesReceived], [{ timeout: 3 }, 3, 72, 0], 'a new socket after each timeout');
    assert.ok(timedOut.r.DurationHistogram.Min >= 0.14, `cut at -udp-timeout: ${timedOut.r.DurationHistogram.Min}`);
    assert.match(timedOut.text, /^udp timeout : 3 \(100\.0 %\)$/m);

    const shortReply = await load(['-qps', '0', '-n', '3', '-c', '1', '-udp-timeout', '2s', `udp://127.0.0.1:${short.port}`]);
    assert.deepEqual([shortReply.r.RetCodes, shortReply.r.BytesReceived], [{ 'short read': 3 }, 15]);

    const mismatch = await load(['-qps', '0', '-n', '3', '-c', '1', '-payload', 'abc', `udp://127.0.0.1:${upper.port}`]);
    assert.deepEqual([mismatch.r.RetCodes, mismatch.r.BytesSent], [{ 'read not echoing writes': 3 }, 9]);
    assert.equal(upper.received.at(-1)?.toString(), 'abc');
  } finally {
    silent.close();
    short.close();
    upper.close();
  }
});
