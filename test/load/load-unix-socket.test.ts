import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FortioResult } from '../../src/load/fortio-json.js';
import { bulwark } from './load-support.js';

/* Fortio's -unix-socket: its fast client dials the path instead of the URL's host (fhttp/http_client.go NewFastClient). */

const dir = mkdtempSync(join(tmpdir(), 'bulwark-load-uds-'));
const socketPath = join(dir, 'echo.sock');
const hosts: string[] = [];
let server: http.Server;

before(async () => {
  server = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    res.end('over uds');
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('-unix-socket: the calls go to the socket, the Host header stays the URL\'s, and the host is not resolved', async () => {
  const r = await bulwark(['load', '-quiet', '-qps', '0', '-c', '2', '-n', '6', '-unix-socket', socketPath, '-json', '-', 'http://backend.invalid:8080/path']);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as FortioResult;
  assert.deepEqual(json.RetCodes, { '200': 6 });
  assert.equal(json.UnixDomainSocket, socketPath);
  assert.deepEqual(json.Sockets, [1, 1], 'each connection keeps its socket');
  assert.deepEqual(json.IPCountMap, {}, 'no address resolved, as Fortio');
  assert.equal(hosts.length, 6);
  assert.ok(hosts.every((h) => h === 'backend.invalid:8080'), hosts.join());
});

test('-unix-socket to a path nobody listens on: every call is a socket error', async () => {
  const r = await bulwark(['load', '-quiet', '-qps', '0', '-c', '1', '-n', '2', '-unix-socket', join(dir, 'none.sock'), '-json', '-', 'http://localhost/']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as FortioResult).RetCodes, { '-1': 2 });
});
