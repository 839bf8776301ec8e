/**
 * A TLS listener's sessionTimeout (Envoy's session_timeout) bounds how long a session may be resumed:
 * past it, a returning client gets a full handshake and is still served. Before, the setting was read
 * and ignored (OpenSSL's default of two hours applied).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { bootstrap, httpListener, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const pki = makePki();
let upstream: TestUpstream;
let proxy: RunningProxy;
let shortPort: number;
let defaultPort: number;

before(async () => {
  upstream = await startUpstream('app');
  shortPort = await freePort();
  defaultPort = await freePort();
  const server = pki.issue('server', 'DNS:localhost');
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]);
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('short', shortPort, routes, {}, tlsTransport(server.cert, server.key, {}, { sessionTimeout: '1s' })),
        httpListener('default', defaultPort, routes, {}, tlsTransport(server.cert, server.key)),
      ],
      [staticCluster('app', [upstream.port])],
    ),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

/** One request on a new connection offering `session`; whether it resumed, whether it was served, and the session it ended with. */
function request(port: number, version: tls.SecureVersion, session?: Buffer): Promise<{ reused: boolean; served: boolean; session: Buffer | undefined }> {
  return new Promise((resolve) => {
    let next: Buffer | undefined;
    let reused = false;
    let body = '';
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.caCert), minVersion: version, maxVersion: version, ALPNProtocols: ['http/1.1'], session });
    s.on('session', (x: Buffer) => (next = x));
    s.on('secureConnect', () => {
      reused = s.isSessionReused();
      s.write('GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    });
    s.on('data', (d: Buffer) => (body += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ reused, served: body.startsWith('HTTP/1.1 200'), session: next }));
  });
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: a session resumes within the listener's sessionTimeout and not after it`, async () => {
    const short = await request(shortPort, version);
    const long = await request(defaultPort, version);
    assert.equal((await request(shortPort, version, short.session)).reused, true, 'resumed within the timeout');
    await sleep(2500);
    const late = await request(shortPort, version, short.session);
    assert.equal(late.reused, false, 'a full handshake once the session has expired');
    assert.equal(late.served, true);
    assert.equal((await request(defaultPort, version, long.session)).reused, true, 'without sessionTimeout the same wait still resumes');
  });
}
