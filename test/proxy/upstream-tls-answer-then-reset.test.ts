/**
 * An upstream reached over TLS answers an upload before reading it (413) and closes; its kernel
 * resets the connection (unread bytes). The proxy, still sending the upload, got EPIPE or ECONNRESET
 * from a write before it had read the answer waiting in its receive buffer, and node's TLS socket
 * destroyed itself on that write error, answer and all: the client got 503 (UC,
 * upstream_reset_before_response_started{connection_termination}). Over plaintext the answer
 * already came through (upstream-answer-then-reset); over TLS it must too. The node TLS server
 * below answers and closes at once (1 to 6 uploads in 10 got 503 before). nginx refusing a body over
 * client_max_body_size without lingering close is the real server alongside: its reset came late
 * enough that its 413 reached the client before too, so it checks the fix breaks nothing there.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { scratchPath } from '../support/scratch-path.js';
import { makePki } from '../support/tls-fixtures.js';
import { startNginx, type RunningNginx } from '../support/nginx.js';

const run = promisify(execFile);
const pki = makePki();
const bodyFile = scratchPath('tls-upload.bin');
const accessLog = scratchPath('tls-answer-reset.log');
let upstream: tls.Server;
let nginx: RunningNginx;
let proxy: RunningProxy;
let port: number;

before(async () => {
  writeFileSync(bodyFile, Buffer.alloc(5_000_000, 0x61));
  const cert = pki.issue('upstream', 'DNS:localhost');
  // Answers as soon as the request head is in, then closes without reading the body.
  upstream = tls.createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (socket) => {
    socket.on('error', () => undefined);
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      socket.end('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 9\r\nconnection: close\r\n\r\ntoo large', () => socket.destroy());
    };
    socket.on('data', onData);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  // nginx answers 413 from the Content-Length, or from the first chunk over the limit, and closes at once.
  const nginxPort = await freePort();
  nginx = await startNginx(
    `server { listen 127.0.0.1:${nginxPort} ssl; ssl_certificate ${cert.cert}; ssl_certificate_key ${cert.key}; client_max_body_size 1k; lingering_close off; location / { return 200; } }`,
    nginxPort,
  );
  port = await freePort();
  const upstreamTls = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni: 'localhost', commonTlsContext: { validationContext: { trustedCa: { filename: pki.caCert } } } } } };
  const routes = routeConfig([
    { match: { prefix: '/nginx/' }, route: { cluster: 'nginx' } },
    { match: { prefix: '/' }, route: { cluster: 'tls-up' } },
  ]);
  const logFormat = { textFormat: '%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n' };
  proxy = await startProxy(
    bootstrap(
      [httpListener('h', port, routes, { accessLog: [{ typedConfig: { path: accessLog, logFormat } }] })],
      [staticCluster('tls-up', [(upstream.address() as AddressInfo).port], upstreamTls), staticCluster('nginx', [nginxPort], upstreamTls)],
    ),
  );
});

after(async () => {
  await proxy?.stop();
  upstream?.close();
  await nginx?.stop();
});

/** The statuses curl reports for ten uploads of the body file to `path`; `extra` adds to its arguments. */
async function uploadCodes(path: string, extra: string[] = []): Promise<string[]> {
  const codes: string[] = [];
  for (let i = 0; i < 10; i++) {
    // curl's exit status is not asserted: it may read a reset of its own upload after the answer (56).
    const { stdout } = await run('curl', ['-s', '--http1.1', ...extra, '-T', bodyFile, '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}${path}`], { timeout: 20_000 }).catch((err: { stdout: string }) => err);
    codes.push(stdout);
  }
  return codes;
}

/** The access log's lines for `path`, once ten are written: an answer from upstream has no flag. */
async function loggedOutcomes(path: string): Promise<string[]> {
  let lines: string[] = [];
  for (let i = 0; i < 100 && lines.length < 10; i++) {
    await new Promise((r) => setTimeout(r, 50));
    lines = readFileSync(accessLog, 'utf8').split('\n').filter((l) => l.startsWith(`${path} `));
  }
  return lines.map((l) => l.slice(path.length + 1));
}

for (const [name, path, extra] of [
  ['a node TLS server', '/upload', []],
  ['a node TLS server (chunked upload)', '/chunked', ['-H', 'transfer-encoding: chunked']],
  ['nginx over TLS (client_max_body_size)', '/nginx/upload', []],
] as const) {
  test(`an upload ${name} refuses and resets gets the upstream's answer, not 503`, async () => {
    assert.deepEqual(await uploadCodes(path, [...extra]), Array(10).fill('413'), readFileSync(accessLog, 'utf8').slice(-2000));
    assert.deepEqual(await loggedOutcomes(path), Array(10).fill('413 - via_upstream'));
  });
}
