/**
 * TLS renegotiation is refused, as Envoy (BoringSSL) refuses it: a client that asks for one on a
 * TLS 1.2 connection gets a no_renegotiation alert instead of a second handshake, which would be a
 * second private-key operation in the key-custody token per request (testssl.sh's "client-initiated
 * renegotiation: DoS threat"). The listener keeps serving everyone else.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrap, httpListener, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const pki = makePki();
let upstream: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  upstream = await startUpstream('app');
  port = await freePort();
  const server = pki.issue('server', 'DNS:localhost');
  proxy = await startProxy(
    bootstrap([httpListener('tls', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), {}, tlsTransport(server.cert, server.key))], [staticCluster('app', [upstream.port])]),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

/** Runs `openssl s_client -tls1_2`, asks it to renegotiate ("R" on its own line), then sends a request; returns all it printed. */
async function renegotiateThenRequest(): Promise<string> {
  const client = spawn('openssl', ['s_client', '-tls1_2', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', pki.caCert], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  client.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  client.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
  const exited = new Promise<void>((resolve) => client.once('close', () => resolve()));
  for (let i = 0; i < 50 && !out.includes('Verify return code'); i++) await sleep(50);
  client.stdin.write('R\n');
  await sleep(300);
  client.stdin.write('GET /after HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  await Promise.race([exited, sleep(3000)]);
  client.kill();
  return out;
}

test('a client-initiated TLS 1.2 renegotiation is refused with an alert, not performed', async () => {
  const out = await renegotiateThenRequest();
  assert.match(out, /Verify return code: 0/, 'the first handshake completed');
  assert.match(out, /RENEGOTIATING/, 'the client asked');
  assert.match(out, /no renegotiation/, `the server refused: ${out.slice(-400)}`);
  assert.doesNotMatch(out, /HTTP\/1\.1 200/, 'nothing was served after the refused renegotiation');
});

test('the listener keeps serving after a refused renegotiation', async () => {
  await renegotiateThenRequest();
  const r = await curl(['--cacert', pki.caCert, '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/still`]);
  assert.equal(r.status, 200);
});
