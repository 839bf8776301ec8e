/**
 * nginx over TLS as an HTTP/2 upstream with a requests-per-connection limit closes the connection as
 * soon as the last stream it let through has been sent. The end of a response paused for a slow
 * HTTP/2 client is then still in node's buffer of the upstream stream, and node destroys such
 * streams with their socket: the proxy cut those responses (UC) a few tens of KB short of their end.
 * Each response must arrive whole.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startNginx, type RunningNginx } from '../support/nginx.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';

const run = promisify(execFile);
const FILE_BYTES = 2_000_000;
const REQUESTS = 40;
const pki = makePki();
const www = mkdtempSync(join(tmpdir(), 'bulwark-www-'));
let nginx: RunningNginx;
let proxy: RunningProxy;
let port: number;

before(async () => {
  writeFileSync(join(www, 'file.bin'), Buffer.alloc(FILE_BYTES, 0x62), { mode: 0o644 });
  // nginx's worker may run as nobody.
  chmodSync(www, 0o755);
  const server = pki.issue('upstream', 'DNS:localhost');
  const upstreamPort = await freePort();
  nginx = await startNginx(
    `keepalive_requests 2;\n  server { listen 127.0.0.1:${upstreamPort} ssl http2; ssl_certificate ${server.cert}; ssl_certificate_key ${server.key}; root ${www}; }`,
    upstreamPort,
  );
  port = await freePort();
  const tls = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost', commonTlsContext: { validationContext: { trustedCa: { filename: pki.caCert } } } } } };
  const cluster = staticCluster('nginx', [upstreamPort], { http2ProtocolOptions: {}, ...tls });
  proxy = await startProxy(bootstrap([httpListener('h', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'nginx' } }]))], [cluster]));
});

after(async () => {
  await proxy?.stop();
  await nginx?.stop();
  rmSync(www, { recursive: true, force: true });
  rmSync(pki.dir, { recursive: true, force: true });
});

test('responses paused for HTTP/2 clients arrive whole when the TLS upstream closes right after its last stream', async () => {
  // Many streams per client connection, each with HTTP/2's default 64 KB window: the proxy's
  // upstream streams are paused most of the time.
  const { stdout } = await run('h2load', ['-n', String(REQUESTS), '-c', '2', '-m', '10', `http://127.0.0.1:${port}/file.bin`], { timeout: 60_000 });
  const diagnostics = `h2load:\n${stdout}\nproxy:\n${proxy.logs().slice(-2000)}`;
  assert.match(stdout, new RegExp(`requests: ${REQUESTS} total, ${REQUESTS} started, ${REQUESTS} done, ${REQUESTS} succeeded, 0 failed`), diagnostics);
  assert.match(stdout, new RegExp(`\\(${FILE_BYTES * REQUESTS}\\) data`), diagnostics);
});
