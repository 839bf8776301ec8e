/**
 * A client certificate the listener refuses after the handshake (here: its SPIFFE ID does not match)
 * ends the TLS session with close_notify and a FIN: the client reads a closed TLS connection, not a
 * TCP reset. The refusal is still logged and counted.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { bootstrap, httpListener, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const ALLOWED = 'spiffe://cluster.local/ns/shop/sa/web';
const pki = makePki();
const intruder = pki.issue('intruder', 'URI:spiffe://cluster.local/ns/shop/sa/intruder');
const web = pki.issue('web', `URI:${ALLOWED}`);
let app: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  app = await startUpstream('app');
  port = await freePort();
  const server = pki.issue('server', 'DNS:localhost');
  const transport = tlsTransport(
    server.cert,
    server.key,
    { validationContext: { trustedCa: { filename: pki.caCert }, matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: ALLOWED } }] } },
    { requireClientCertificate: true },
  );
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);
  proxy = await startProxy(bootstrap([httpListener('inbound', port, routes, {}, transport)], [staticCluster('app', [app.port])]), { extraArgs: ['--insecure-memory-keys'] });
});

after(async () => {
  await proxy?.stop();
  await app?.close();
});

/** Sends a request right after the handshake, as a client does; reports how the connection ended. */
function attempt(client: { cert: string; key: string }, version: tls.SecureVersion): Promise<{ handshake: boolean; body: string; ended: 'end' | string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.caCert), cert: readFileSync(client.cert), key: readFileSync(client.key), minVersion: version, maxVersion: version, ALPNProtocols: ['http/1.1'] });
    const out = { handshake: false, body: '', ended: '' };
    s.on('secureConnect', () => {
      out.handshake = true;
      s.write('GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    });
    s.on('data', (d: Buffer) => (out.body += d.toString()));
    s.on('end', () => (out.ended ||= 'end'));
    s.on('error', (e: NodeJS.ErrnoException) => (out.ended ||= e.code ?? e.message));
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** openssl s_client with the refused certificate, sending a request once connected; its whole output. */
function sClient(flag: '-tls1_3' | '-tls1_2'): Promise<string> {
  return new Promise<string>((resolve) => {
    const args = ['s_client', flag, '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', pki.caCert, '-cert', intruder.cert, '-key', intruder.key, '-ign_eof'];
    const child = execFile('openssl', args, { timeout: 5000 }, (_e, stdout, stderr) => resolve(stdout + stderr));
    child.stdin!.end('GET / HTTP/1.1\r\nhost: localhost\r\n\r\n');
  });
}

for (const [version, flag] of [['TLSv1.3', '-tls1_3'], ['TLSv1.2', '-tls1_2']] as const) {
  test(`${version}: a refused SPIFFE ID completes the handshake and reads a closed TLS session, not a reset`, async () => {
    for (let i = 0; i < 3; i++) {
      const r = await attempt(intruder, version);
      assert.deepEqual(r, { handshake: true, body: '', ended: 'end' });
      const out = await sClient(flag);
      // s_client prints "closed" on close_notify, "read:errno=104" on a reset.
      assert.match(out, /^closed$/m, out.slice(-600));
      assert.doesNotMatch(out, /errno=/);
    }
    const ok = await attempt(web, version);
    assert.match(ok.body, /^HTTP\/1\.1 200/);
  });
}

test('the refusals are logged and counted', async () => {
  assert.match(proxy.logs(), /peer certificate refused.*subject alternative names do not match/);
  const metrics = (await proxy.get('/stats/prometheus')).body;
  const refused = Number(/bulwark_listener_tls_failures_total\{listener="inbound",reason="peer_verification"\} (\d+)/.exec(metrics)?.[1]);
  assert.equal(refused, 12, metrics);
});
