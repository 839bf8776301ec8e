import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark } from './load-support.js';

async function load(args: string[]): Promise<{ r: FortioResult; text: string }> {
  const run = await bulwark(['load', '-quiet', '-json', '-', ...args], 30_000);
  assert.equal(run.code, 0, run.stderr);
  return { r: JSON.parse(run.stdout) as FortioResult, text: run.stderr };
}

test('Sockets (per connection), SocketCount and IPCountMap ("ip:port" -> sockets), as Fortio\'s HTTP result has them', async () => {
  const server = http.createServer((req, res) => {
    if (req.url === '/close') res.setHeader('connection', 'close');
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const peer = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const kept = await load(['-qps', '0', '-c', '3', '-n', '30', `http://${peer}/`]);
    assert.deepEqual(kept.r.Sockets, [1, 1, 1]);
    assert.equal(kept.r.SocketCount, 3);
    assert.deepEqual(kept.r.IPCountMap, { [peer]: 3 });
    assert.match(kept.text, /^Sockets used: 3 \(for perfect keepalive, would be 3\)$/m);
    assert.match(kept.text, new RegExp(`^IP addresses distribution:\\n${peer.replaceAll('.', '\\.')}: 3$`, 'm'));
    const closed = await load(['-qps', '0', '-c', '2', '-n', '10', `http://${peer}/close`]);
    assert.equal(closed.r.Sockets.length, 2);
    assert.equal(closed.r.Sockets[0]! + closed.r.Sockets[1]!, 10, 'a socket per call when the server closes each');
    assert.deepEqual(closed.r.IPCountMap, { [peer]: 10 });
    const workers = await load(['-workers', '2', '-qps', '0', '-c', '4', '-n', '40', `http://${peer}/`]);
    assert.deepEqual(workers.r.Sockets, [1, 1, 1, 1], 'the workers share -c; their connections merged');
    assert.deepEqual(workers.r.IPCountMap, { [peer]: 4 });
  } finally {
    server.close();
  }
});

test('IPCountMap over HTTP/2 too; refused connections count as sockets used, on the dialled address', async () => {
  const server = http2.createServer((_req, res) => res.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const peer = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const { r } = await load(['-h2', '-qps', '0', '-c', '2', '-n', '10', `http://${peer}/`]);
    assert.deepEqual([r.Sockets, r.IPCountMap], [[1, 1], { [peer]: 2 }]);
  } finally {
    server.close();
  }
  const refused = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '2', '-json', '-', 'http://127.0.0.1:1/']);
  const r = JSON.parse(refused.stdout) as FortioResult;
  assert.deepEqual([r.Sockets, r.SocketCount, r.IPCountMap], [[2], 2, { '127.0.0.1:1': 2 }], 'Fortio\'s fast client counts every dial');
});
