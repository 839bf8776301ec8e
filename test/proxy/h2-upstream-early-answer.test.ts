/**
 * An HTTP/2 upstream that answers before it has read the request body (nginx's `return 200`, the
 * upstream here) while HTTP/2 clients upload on several streams at once. The proxy resets its side of each such
 * upstream stream (RFC 9113 §8.1). It used to submit that reset twice, natively and again through
 * node's close(), and nghttp2 freed the stream's memory twice: the process aborted with "malloc():
 * mismatching next->prev_size" within a few hundred requests. h2load is the client, as a user's
 * load test would be.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { alive } from '../support/process-alive.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';

const run = promisify(execFile);

/** Resolves once something accepts connections on the loopback port. */
async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(true));
      s.on('error', () => resolve(false));
      s.on('connect', () => s.destroy());
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx is not listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bulwark-h2-early-'));
const bodyFile = join(dir, 'body.bin');
let upstream: ChildProcess;
let proxy: RunningProxy;
let port: number;

before(async () => {
  // 20 KB: more than one DATA frame, less than a flow-control window, so most of it is in flight when the answer comes.
  writeFileSync(bodyFile, Buffer.alloc(20_000, 0x61));
  const upstreamPort = await freePort();
  // h2c with prior knowledge; `return` answers without waiting for the body, which nginx then discards.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${upstreamPort} http2; location / { return 200 "answered early\\n"; } }
}
`,
  );
  upstream = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  await waitForPort(upstreamPort);
  port = await freePort();
  const cluster = staticCluster('early', [upstreamPort], { http2ProtocolOptions: {} });
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'early' } }]))], [cluster]));
});

after(async () => {
  await proxy?.stop();
  upstream?.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('uploads over HTTP/2 to an HTTP/2 upstream that answers first all succeed, and the proxy stays up', async () => {
  const { stdout } = await run('h2load', ['-n', '4000', '-c', '2', '-m', '8', '-d', bodyFile, `http://127.0.0.1:${port}/upload`], { timeout: 60_000 });
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(stdout);
  assert.ok(requests, stdout);
  assert.equal(Number(requests[4]), 4000, `h2load:\n${stdout}\nproxy:\n${proxy.logs().slice(-2000)}`);
  assert.match(stdout, /status codes: 4000 2xx/);
  assert.ok(alive(proxy.child.pid!), 'the proxy is still running');
  assert.doesNotMatch(proxy.logs(), /worker exited|malloc|corrupted/);
});
