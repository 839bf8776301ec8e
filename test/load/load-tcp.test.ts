import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FortioSocketEchoResult } from '../../src/load/fortio-json.js';
import { freePort } from '../support/free-port.js';
import { bulwark, startEcho } from './load-support.js';

/** A TCP server on loopback whose connections run `onConnection`; it records the first bytes each one received. */
async function tcpServer(onConnection: (socket: net.Socket) => void): Promise<{ port: number; firstBytes: string[]; close(): void }> {
  const firstBytes: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.once('data', (d: Buffer) => firstBytes.push(d.toString('latin1')));
    onConnection(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, firstBytes, close: () => server.close() };
}

async function load(args: string[]): Promise<{ r: FortioSocketEchoResult; text: string }> {
  const run = await bulwark(['load', '-quiet', '-json', '-', ...args], 30_000);
  assert.equal(run.code, 0, run.stderr);
  return { r: JSON.parse(run.stdout) as FortioSocketEchoResult, text: run.stderr };
}

test('tcp:// sends Fortio\'s payload per call on a kept socket and reads it back: RetCodes, sockets, bytes and text as Fortio\'s tcp runner', async () => {
  const echo = await tcpServer((socket) => socket.pipe(socket));
  const dir = mkdtempSync(join(tmpdir(), 'load-tcp-'));
  try {
    const dest = `tcp://127.0.0.1:${echo.port}`;
    const { r, text } = await load(['-qps', '0', '-n', '200', '-c', '2', '-access-log-file', join(dir, 'calls.log'), dest]);
    assert.deepEqual(
      Object.keys(r).filter((k) => k !== 'Bulwark'),
      ['RunType', 'Labels', 'StartTime', 'RequestedQPS', 'RequestedDuration', 'ActualQPS', 'ActualDuration', 'NumThreads', 'Version', 'DurationHistogram', 'ErrorsDurationHistogram', 'Exactly', 'Jitter', 'Uniform', 'NoCatchUp', 'RunID', 'AccessLoggerInfo', 'ID', 'Destination', 'Payload', 'UnixDomainSocket', 'ReqTimeout', 'RetCodes', 'SocketCount', 'BytesSent', 'BytesReceived'],
      'the fields of Fortio\'s tcprunner.RunnerResults, in its order',
    );
    assert.deepEqual([r.RunType, r.Destination, r.Payload, r.UnixDomainSocket, r.ReqTimeout, r.NumThreads], ['TCP', dest, null, '', 0, 2]);
    assert.deepEqual(r.RetCodes, { OK: 200 });
    assert.deepEqual([r.SocketCount, r.BytesSent, r.BytesReceived], [2, 200 * 24, 200 * 24], '24 bytes a call, one socket a connection');
    assert.equal(r.Labels.split(' , ')[0], dest, 'Fortio\'s default labels keep the tcp:// prefix');
    assert.match(text, /^Sockets used: 2 \(for perfect no error run, would be 2\)\nTotal Bytes sent: 4800, received: 4800\ntcp OK : 200 \(100\.0 %\)$/m);
    assert.deepEqual(echo.firstBytes.sort(), ['Fortio\n0000\n000000000001', 'Fortio\n0001\n000000000001'], 'a payload unique to the thread and message');
    const lines = readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 200);
    assert.ok(lines.every((l) => /"ok":true,"details":"OK"}$/.test(l)), lines[0]);

    const given = await load(['-qps', '0', '-n', '10', '-c', '1', '-payload', 'hello tcp', dest]);
    assert.deepEqual([given.r.RetCodes, given.r.BytesSent, given.r.BytesReceived, given.r.Payload], [{ OK: 10 }, 90, 90, null]);
    assert.equal(echo.firstBytes.at(-1), 'hello tcp');

    const workers = await load(['-workers', '2', '-qps', '0', '-n', '40', '-c', '4', dest]);
    assert.deepEqual([workers.r.RetCodes, workers.r.SocketCount, workers.r.BytesSent], [{ OK: 40 }, 4, 40 * 24], 'the workers\' outcomes and bytes merged');
  } finally {
    echo.close();
  }
});

test('a timed tcp:// run warms up each connection first, and counts its socket and bytes as Fortio does', async () => {
  const echo = await tcpServer((socket) => socket.pipe(socket));
  try {
    const { r, text } = await load(['-qps', '20', '-t', '1s', '-c', '2', `tcp://localhost:${echo.port}/`]);
    const calls = r.DurationHistogram.Count;
    assert.deepEqual([r.RetCodes, r.SocketCount, r.Bulwark.WarmupCalls], [{ OK: calls }, 2, 2]);
    assert.deepEqual([r.BytesSent, r.BytesReceived], [(calls + 2) * 24, (calls + 2) * 24], 'the warm-up calls\' bytes too');
    assert.match(text, new RegExp(`^All done ${calls} calls \\(plus 2 warmup\\)`, 'm'));
  } finally {
    echo.close();
  }
});

test('tcp:// errors are counted by Fortio\'s texts: a server that closes (short read), one that answers other bytes, one that is not there', async () => {
  // Echoes one message per connection, then closes it: the next call on that socket reads EOF.
  const oneShot = await tcpServer((socket) => socket.once('data', (d: Buffer) => socket.end(d)));
  const upper = await tcpServer((socket) => socket.on('data', (d: Buffer) => socket.write(d.toString('latin1').toUpperCase(), 'latin1')));
  const closedPort = await freePort();
  try {
    const closing = await load(['-qps', '0', '-n', '10', '-c', '1', `tcp://127.0.0.1:${oneShot.port}`]);
    assert.deepEqual(closing.r.RetCodes, { OK: 5, 'short read': 5 }, 'every other call finds its socket closed');
    assert.deepEqual([closing.r.SocketCount, closing.r.BytesSent, closing.r.BytesReceived], [5, 240, 120], 'a new socket after each failed call');
    assert.match(closing.text, /^tcp OK : 5 \(50\.0 %\)\ntcp short read : 5 \(50\.0 %\)$/m);
    assert.equal(closing.r.ErrorsDurationHistogram.Count, 5);

    const mismatch = await load(['-qps', '0', '-n', '4', '-c', '1', `tcp://127.0.0.1:${upper.port}`]);
    assert.deepEqual([mismatch.r.RetCodes, mismatch.r.SocketCount], [{ 'read not echoing writes': 4 }, 4]);

    const refused = await load(['-qps', '0', '-n', '3', '-c', '1', `tcp://127.0.0.1:${closedPort}`]);
    assert.deepEqual([refused.r.RetCodes, refused.r.SocketCount, refused.r.BytesSent], [{ [`dial tcp 127.0.0.1:${closedPort}: connect: connection refused`]: 3 }, 3, 0]);
  } finally {
    oneShot.close();
    upper.close();
  }
});

test('a tcp:// call without its echo within -timeout is Go\'s read deadline error, on a new socket next time', async () => {
  const silent = await tcpServer((socket) => socket.resume());
  try {
    const started = Date.now();
    const { r } = await load(['-qps', '0', '-n', '2', '-c', '1', '-timeout', '200ms', `tcp://127.0.0.1:${silent.port}`]);
    assert.ok(Date.now() - started < 10_000);
    const keys = Object.keys(r.RetCodes);
    assert.equal(keys.length, 2, 'the local port is in the text, and each call had its own socket');
    for (const k of keys) assert.match(k, new RegExp(`^read tcp 127\\.0\\.0\\.1:\\d+->127\\.0\\.0\\.1:${silent.port}: i/o timeout$`));
    assert.deepEqual([r.SocketCount, r.BytesSent, r.BytesReceived], [2, 48, 0]);
    assert.ok(r.DurationHistogram.Min >= 0.19, `cut at the timeout: ${r.DurationHistogram.Min}`);
  } finally {
    silent.close();
  }
});

test('a tcp:// destination that is not host:port, or does not resolve, stops the run with Fortio\'s words (exit 1)', async () => {
  const noPort = await bulwark(['load', '-quiet', '-n', '1', 'tcp://127.0.0.1/']);
  assert.equal(noPort.code, 1);
  assert.match(noPort.stderr, /^Aborting because of unable to create client 0 for tcp:\/\/127\.0\.0\.1\/: destination '127\.0\.0\.1' is not host:port format$/m);
  const unknown = await bulwark(['load', '-quiet', '-n', '1', 'tcp://no-such-host.invalid:80']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^Aborting because of unable to create client 0 for tcp:\/\/no-such-host\.invalid:80: lookup no-such-host\.invalid: no such host$/m);
});

test('bulwark echo --tcp-port and --udp-port serve Fortio\'s TCP and UDP echo, which tcp:// and udp:// load', async () => {
  const echo = await startEcho(['--tcp-port', '0', '--udp-port', '0']);
  const plain = await startEcho();
  try {
    assert.ok(echo.tcpPort && echo.udpPort);
    assert.deepEqual([plain.tcpPort, plain.udpPort], [null, null], 'off unless asked for');
    const tcp = await load(['-qps', '0', '-n', '200', '-c', '2', `tcp://127.0.0.1:${echo.tcpPort}`]);
    assert.deepEqual([tcp.r.RetCodes, tcp.r.SocketCount, tcp.r.BytesReceived], [{ OK: 200 }, 2, 4800]);
    const big = await load(['-qps', '0', '-n', '5', '-c', '1', '-payload-size', '100000', `tcp://127.0.0.1:${echo.tcpPort}`]);
    assert.deepEqual([big.r.RetCodes, big.r.BytesReceived], [{ OK: 5 }, 500_000], 'a payload read back across many reads');
    const udp = await load(['-qps', '0', '-n', '200', '-c', '2', `udp://127.0.0.1:${echo.udpPort}`]);
    assert.deepEqual([udp.r.RetCodes, udp.r.SocketCount, udp.r.BytesReceived], [{ OK: 200 }, 2, 4800]);
    // Fortio's UDP echo reads into 2048 bytes: a longer datagram comes back cut.
    const long = await load(['-qps', '0', '-n', '2', '-c', '1', '-payload-size', '3000', `udp://127.0.0.1:${echo.udpPort}`]);
    assert.deepEqual([long.r.RetCodes, long.r.BytesReceived], [{ 'short read': 2 }, 4096]);
  } finally {
    await echo.stop();
    await plain.stop();
  }
});
