/**
 * With workers, TLS session resumption works whichever worker a reconnecting client lands on: the
 * primary gives every worker the same session-ticket keys (over IPC), as Envoy's worker threads share
 * one context. Before, each worker sealed tickets with its own random keys, and a client the kernel
 * sent to the other worker fell back to a full handshake (another signature in the key token).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { bootstrap, httpListener, routeConfig, staticCluster, tlsTransport } from '../support/config-builder.js';
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
  proxy = await startProxy(bootstrap([httpListener('tls', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), {}, tlsTransport(server.cert, server.key))], [staticCluster('app', [upstream.port])]), {
    concurrency: 2,
    extraArgs: ['--insecure-memory-keys'],
  });
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

/** One TLS connection (resuming `session` if given) that sends a request; resolves with whether it resumed and the next session. */
function connect(maxVersion: tls.SecureVersion, session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let next: Buffer | undefined;
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: [readFileSync(pki.caCert, 'utf8')], maxVersion, session });
    s.on('session', (t: Buffer) => (next = t));
    s.on('error', reject);
    let reused = false;
    s.once('secureConnect', () => {
      // Asked now: once the socket has closed, isSessionReused() has no handle to ask.
      reused = s.isSessionReused();
      s.write('GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    });
    s.resume();
    s.on('close', () => resolve({ reused, session: next }));
  });
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: every reconnection resumes, across both workers`, async () => {
    const first = await connect(version);
    assert.ok(first.session, 'a session ticket came');
    let resumed = 0;
    for (let i = 0; i < 12; i++) {
      const r = await connect(version, first.session);
      if (r.reused) resumed++;
    }
    assert.equal(resumed, 12, `${resumed} of 12 reconnections resumed`);
  });
}
