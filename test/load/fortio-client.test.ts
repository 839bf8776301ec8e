import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark, rawHttpServer, type RawServer } from './load-support.js';

/*
 * What Fortio's two HTTP clients record of each call, checked against responses of known bytes.
 * Its fast client (the default) returns the bytes it read, head and body; its standard client
 * (-stdclient, and -h2 which switches to it) returns the body's bytes (fhttp/http_client.go).
 */

const HEAD_OK = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n';
const OK = `${HEAD_OK}hello`;
const HEAD_CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
const CHUNKED = `${HEAD_CHUNKED}5\r\nhello\r\n0\r\n\r\n`;
const BUSY = 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy';

let server: RawServer;

before(async () => {
  server = await rawHttpServer((path) => (path === '/chunked' ? CHUNKED : path === '/busy' ? BUSY : OK));
});

after(() => server.close());

async function load(args: string[]): Promise<FortioResult> {
  const run = await bulwark(['load', '-quiet', '-qps', '0', '-json', '-', ...args], 30_000);
  return JSON.parse(run.stdout) as FortioResult;
}

const counter = (h: FortioResult['Sizes']): number[] => [h.Count, h.Min, h.Max, h.Sum];

test('the fast client (default) sizes a call by its whole response, and its head only when the status is OK', async () => {
  const ok = await load(['-c', '1', '-n', '4', `${server.url}/`]);
  assert.deepEqual(counter(ok.Sizes), [4, OK.length, OK.length, 4 * OK.length], 'head and body: 43 bytes, not the 5 of the body');
  assert.deepEqual(counter(ok.HeaderSizes), [4, HEAD_OK.length, HEAD_OK.length, 4 * HEAD_OK.length]);
  const chunked = await load(['-c', '1', '-n', '2', `${server.url}/chunked`]);
  assert.deepEqual(counter(chunked.Sizes), [2, CHUNKED.length, CHUNKED.length, 2 * CHUNKED.length], 'the chunked framing is read too');
  assert.equal(chunked.HeaderSizes.Max, HEAD_CHUNKED.length);
  const busy = await load(['-c', '1', '-n', '2', `${server.url}/busy`]);
  assert.deepEqual(busy.RetCodes, { '503': 2 });
  assert.deepEqual(counter(busy.Sizes), [2, BUSY.length, BUSY.length, 2 * BUSY.length]);
  assert.deepEqual(counter(busy.HeaderSizes), [2, 0, 0, 0], 'Fortio stops parsing at a status that is not OK: no head size');
  const refused = await load(['-c', '1', '-n', '2', 'http://127.0.0.1:1/']);
  assert.deepEqual(counter(refused.Sizes), [2, 0, 0, 0], 'a failed call read nothing');
});

test('the standard client (-stdclient, -h2) sizes a call by its body, a failed call as -1, and never its head', async () => {
  const std = await load(['-stdclient', '-c', '1', '-n', '3', `${server.url}/chunked`]);
  assert.equal(std.DisableFastClient, true);
  assert.deepEqual(counter(std.Sizes), [3, 5, 5, 15]);
  assert.deepEqual(counter(std.HeaderSizes), [3, 0, 0, 0]);
  const busy = await load(['-stdclient', '-c', '1', '-n', '1', `${server.url}/busy`]);
  assert.deepEqual(counter(busy.Sizes), [1, 4, 4, 4]);
  const refused = await load(['-stdclient', '-c', '1', '-n', '2', 'http://127.0.0.1:1/']);
  assert.deepEqual(counter(refused.Sizes), [2, -1, -1, -2]);
  const h2 = await load(['-h2', '-c', '1', '-n', '2', 'http://127.0.0.1:1/']);
  assert.equal(h2.DisableFastClient, true, 'Fortio switches to its standard client for -h2');
  assert.deepEqual(counter(h2.Sizes), [2, -1, -1, -2]);
});

test('the fast client closes its connection after a response that is not OK; the standard client keeps it', async () => {
  const before = server.connections();
  const fast = await load(['-c', '1', '-n', '5', `${server.url}/busy`]);
  assert.deepEqual([fast.SocketCount, fast.Sockets], [5, [5]], 'a new connection for every call after a 503');
  assert.equal(server.connections() - before, 5);
  const std = await load(['-stdclient', '-c', '1', '-n', '5', `${server.url}/busy`]);
  assert.deepEqual([std.SocketCount, std.Sockets], [1, [1]]);
  const ok = await load(['-c', '2', '-n', '10', `${server.url}/`]);
  assert.equal(ok.SocketCount, 2, 'OK responses keep their connection');
});

test('ConnectionStats times every connect attempt, and SocketCount and IPCountMap count refused ones too, as Fortio\'s', async () => {
  const run = await bulwark(['load', '-qps', '0', '-c', '2', '-n', '10', '-p', '50,99', '-json', '-', `${server.url}/`], 30_000);
  const r = JSON.parse(run.stdout) as FortioResult;
  const c = r.ConnectionStats;
  assert.deepEqual([c.Count, r.SocketCount], [2, 2], 'one connect per keep-alive connection');
  assert.ok(c.Min > 0 && c.Max < 1 && c.Min <= c.Avg && c.Avg <= c.Max, `in seconds: ${JSON.stringify(c)}`);
  assert.equal(c.Data.reduce((n, b) => n + b.Count, 0), 2);
  assert.deepEqual(c.Percentiles.map((p) => p.Percentile), [50, 99], 'at the -p percentiles');
  assert.ok(c.Percentiles.every((p) => p.Value >= c.Min && p.Value <= c.Max));
  const peer = new URL(server.url).host;
  assert.match(run.stderr, new RegExp(`^# Socket and IP used for each connection:\\n\\[0\\]   1 socket used, resolved to ${peer}, connection timing : count 1 avg \\S+ \\+/- 0 min \\S+ max \\S+ sum \\S+\\n\\[1\\]   1 socket used, `, 'm'));
  assert.match(run.stderr, /^Connection time histogram \(s\) : count 2 avg \S+ \+\/- \S+ min \S+ max \S+ sum \S+\n# range, mid point, percentile, count\n/m);
  assert.match(run.stderr, /^# target 99% \S+\nSockets used: 2 \(for perfect keepalive, would be 2\)$/m);
  const busy = await load(['-c', '1', '-n', '3', `${server.url}/busy`]);
  assert.equal(busy.ConnectionStats.Count, 3, 'a connection per 503');
  const refused = await load(['-c', '1', '-n', '2', 'http://127.0.0.1:1/']);
  assert.deepEqual([refused.SocketCount, refused.Sockets, refused.IPCountMap, refused.ConnectionStats.Count], [2, [2], { '127.0.0.1:1': 2 }, 2], 'two refused dials: two sockets used, on the dialled address');
  const h2 = await load(['-h2', '-c', '1', '-n', '2', 'http://127.0.0.1:1/']);
  assert.deepEqual([h2.SocketCount, h2.IPCountMap, h2.ConnectionStats.Count], [2, {}, 2], 'the standard client (-h2) counts an address once connected');
});
