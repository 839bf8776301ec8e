/**
 * haproxy 2.6 as an HTTP/2 upstream that answers before it has read the request body, while HTTP/2
 * clients upload on several streams at once. haproxy never returns connection-level flow-control
 * window for the DATA it discards on such streams, so after 64 KB the proxy can send no more body on
 * that connection: every later request's body stays queued in node:http2 until its stream closes.
 * node keeps counting those dropped bytes against the session's memory limit, and once past it
 * refused every response with RST_STREAM(ENHANCE_YOUR_CALM): after a few hundred requests, each
 * one failed as a 503 (upstream reset before response started) although haproxy had answered it.
 * The proxy now retires a connection that has stranded too much body and opens another.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startHaproxy, type RunningHaproxy } from '../support/haproxy.js';
import { alive } from '../support/process-alive.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const run = promisify(execFile);

const dir = mkdtempSync(join(tmpdir(), 'bulwark-h2-haproxy-'));
const bodyFile = join(dir, 'body.bin');
let upstream: RunningHaproxy;
let proxy: RunningProxy;
let port: number;

before(async () => {
  // 20 KB: more than one DATA frame, less than a flow-control window.
  writeFileSync(bodyFile, Buffer.alloc(20_000, 0x61));
  const upstreamPort = await freePort();
  // h2c with prior knowledge; `return` answers at once, without reading the body.
  upstream = await startHaproxy(
    `frontend fe\n  bind 127.0.0.1:${upstreamPort} proto h2\n  http-request return status 200 content-type text/plain string "answered early"`,
    upstreamPort,
  );
  port = await freePort();
  const cluster = staticCluster('early', [upstreamPort], { http2ProtocolOptions: {} });
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'early' } }]))], [cluster]));
});

after(async () => {
  await proxy?.stop();
  await upstream?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('uploads through haproxy answering before the body all succeed, past what its connection window lets through', async () => {
  const { stdout } = await run('h2load', ['-n', '4000', '-c', '2', '-m', '8', '-d', bodyFile, `http://127.0.0.1:${port}/upload`], { timeout: 60_000 });
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(stdout);
  assert.ok(requests, stdout);
  assert.equal(Number(requests[4]), 4000, `h2load:\n${stdout}\nproxy:\n${proxy.logs().slice(-2000)}\nhaproxy:\n${upstream.logs().slice(-2000)}`);
  assert.match(stdout, /status codes: 4000 2xx/);
  assert.ok(alive(proxy.child.pid!), 'the proxy is still running');
});
