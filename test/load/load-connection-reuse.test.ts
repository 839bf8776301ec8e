import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { LoadUsageError, parseLoadArgs } from '../../src/load/load-options.js';
import { bulwark, rawHttpServer, type RawServer } from './load-support.js';

/*
 * Fortio's -connection-reuse min:max: its fast client closes a connection after a threshold of
 * calls drawn in [min, max], and draws again for the next (fhttp/http_client.go
 * reachedReuseThreshold, generateReuseThreshold).
 */

let server: RawServer;

before(async () => {
  server = await rawHttpServer(() => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
});

after(() => server.close());

async function load(args: string[]): Promise<FortioResult> {
  const r = await bulwark(['load', '-quiet', '-qps', '0', '-json', '-', ...args, `${server.url}/`]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as FortioResult;
}

test('-connection-reuse N: each connection carries N calls, then a new one opens', async () => {
  const before = server.connections();
  const r = await load(['-c', '2', '-n', '20', '-connection-reuse', '5']);
  assert.deepEqual(r.RetCodes, { '200': 20 });
  assert.deepEqual(r.Sockets, [2, 2]);
  assert.equal(server.connections() - before, 4);
  assert.deepEqual(r.ConnReuseRange, [5, 5]);
});

test('-connection-reuse min:max: a threshold drawn in the range for each connection; the warm-up call counts', async () => {
  const r = await load(['-c', '1', '-t', '300ms', '-qps', '100', '-connection-reuse', '4:2']);
  assert.deepEqual(r.ConnReuseRange, [2, 4], 'the bounds in order, as Fortio stores them');
  const calls = r.DurationHistogram.Count + 1;
  assert.ok(r.SocketCount >= Math.ceil(calls / 4) && r.SocketCount <= Math.ceil(calls / 2), `${r.SocketCount} sockets for ${calls} calls`);
  const unlimited = await load(['-c', '1', '-n', '20']);
  assert.deepEqual([unlimited.SocketCount, unlimited.ConnReuseRange], [1, [0, 0]], 'unlimited by default');
  const std = await load(['-c', '1', '-n', '20', '-stdclient', '-connection-reuse', '5']);
  assert.equal(std.SocketCount, 1, 'only Fortio\'s fast client limits reuse');
});

test('-connection-reuse refuses what Fortio refuses', () => {
  assert.throws(() => parseLoadArgs(['-connection-reuse', '1:2:3', 'http://h/']), (e: unknown) => e instanceof LoadUsageError && /more than two integers/.test((e as Error).message));
  assert.throws(() => parseLoadArgs(['-connection-reuse', 'x', 'http://h/']), (e: unknown) => e instanceof LoadUsageError && /invalid value for connection reuse range/.test((e as Error).message));
});
