/**
 * Certificate files change under a running proxy (SVID rotation, root rotation, a CA dropped from
 * the trust bundle): after the proxy's reload, new handshakes get the new certificate and are judged
 * by the new bundle, even though the listener and the upstream pools are kept (same config) and live
 * connections stay.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const pki = makePki();
const otherCa = makePki();
const live = { cert: join(pki.dir, 'live.crt'), key: join(pki.dir, 'live.key'), bundle: join(pki.dir, 'bundle.pem') };
const outbound = { cert: join(pki.dir, 'outbound.crt'), key: join(pki.dir, 'outbound.key') };
let upstream: TestUpstream;
let mtlsApp: https.Server;
let proxy: RunningProxy;
let port: number;
let outboundPort: number;
let namedPort: number;

before(async () => {
  const first = pki.issue('first', 'DNS:localhost');
  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  writeFileSync(live.bundle, readFileSync(pki.caCert, 'utf8') + readFileSync(otherCa.caCert, 'utf8'));
  const firstClient = pki.issue('outbound-first', 'URI:spiffe://cluster.local/ns/a/sa/outbound');
  copyFileSync(firstClient.cert, outbound.cert);
  copyFileSync(firstClient.key, outbound.key);
  // An upstream that asks for the proxy's client certificate and answers with its serial, one request per connection.
  const appCert = pki.issue('mtls-app', 'DNS:localhost');
  mtlsApp = https.createServer({ cert: readFileSync(appCert.cert), key: readFileSync(appCert.key), ca: readFileSync(pki.caCert), requestCert: true }, (req, res) => {
    res.setHeader('connection', 'close');
    res.end((req.socket as tls.TLSSocket).getPeerCertificate().serialNumber ?? '');
  });
  await new Promise<void>((resolve) => mtlsApp.listen(0, '127.0.0.1', resolve));
  upstream = await startUpstream('app');
  port = await freePort();
  outboundPort = await freePort();
  namedPort = await freePort();
  const tlsChain = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        requireClientCertificate: true,
        commonTlsContext: {
          tlsCertificates: [{ certificateChain: { filename: live.cert }, privateKey: { filename: live.key } }],
          validationContext: { trustedCa: { filename: live.bundle } },
        },
      },
    },
  };
  const upstreamTls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        sni: 'localhost',
        commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: outbound.cert }, privateKey: { filename: outbound.key } }], validationContext: { trustedCa: { filename: pki.caCert } } },
      },
    },
  };
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('inbound', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), {}, tlsChain),
        // The same host by name only: no chain for clients without SNI.
        httpListener('named', namedPort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), {}, { ...tlsChain, filterChainMatch: { serverNames: ['localhost'] } }),
        httpListener('outbound', outboundPort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'mtls-app' } }])),
      ],
      [staticCluster('app', [upstream.port]), staticCluster('mtls-app', [(mtlsApp.address() as AddressInfo).port], upstreamTls)],
    ),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
  mtlsApp?.close();
});

/** A request on a new connection to the named listener, offering `session`; its status ('' when refused) and session. */
function namedRequest(client: { cert: string; key: string }, version: tls.SecureVersion, session?: Buffer): Promise<{ status: string; session: Buffer | undefined }> {
  return new Promise((resolve) => {
    let out = '';
    let next: Buffer | undefined;
    const s = tls.connect({ host: '127.0.0.1', port: namedPort, servername: 'localhost', ca: readFileSync(pki.caCert), cert: readFileSync(client.cert), key: readFileSync(client.key), minVersion: version, maxVersion: version, ALPNProtocols: ['http/1.1'], session });
    s.on('session', (x: Buffer) => (next = x));
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n'));
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('error', () => undefined);
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ status: /^HTTP\/1\.1 (\d+)/.exec(out)?.[1] ?? '', session: next });
    });
  });
}

function servedSerial(client: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.caCert), cert: readFileSync(client.cert), key: readFileSync(client.key) }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.on('error', reject);
  });
}

async function reloaded(n: number): Promise<void> {
  await proxy.waitForLog(new RegExp(`(certificates reloaded[^]*){${n}}`), 10_000);
}

test('a rotated listener certificate is what new handshakes get after the reload', async () => {
  const client = pki.issue('client', 'URI:spiffe://cluster.local/ns/a/sa/client');
  const before = await servedSerial(client);
  const next = pki.issue('next', 'DNS:localhost');
  copyFileSync(next.key, live.key);
  copyFileSync(next.cert, live.cert);
  await reloaded(1);
  const after = await servedSerial(client);
  assert.notEqual(after, before);
  assert.equal(after, new X509Certificate(readFileSync(next.cert)).serialNumber);
});

test('a CA removed from the trust bundle no longer vouches for client certificates after the reload', async () => {
  const stranger = otherCa.issue('stranger', 'URI:spiffe://cluster.local/ns/a/sa/client');
  const args = ['--cacert', pki.caCert, '--cert', stranger.cert, '--key', stranger.key, '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/`];
  assert.equal((await curl(args)).status, 200, 'trusted while its CA is in the bundle');
  const sessions = new Map<tls.SecureVersion, Buffer | undefined>();
  for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
    const first = await namedRequest(stranger, v);
    assert.equal(first.status, '200');
    sessions.set(v, first.session);
  }
  writeFileSync(live.bundle, readFileSync(pki.caCert, 'utf8'));
  await reloaded(2);
  await assert.rejects(curl(args, 5000), /curl failed/);
  assert.match(proxy.logs(), /peer certificate refused/);
  // A session made while the CA was trusted does not outlive it.
  for (const [v, session] of sessions) assert.equal((await namedRequest(stranger, v, session)).status, '', `${v} resumption refused`);
});

test('a rotated client certificate is what new upstream connections present after the reload', async () => {
  const before = (await curl([`http://127.0.0.1:${outboundPort}/`])).body;
  assert.equal(before, new X509Certificate(readFileSync(outbound.cert)).serialNumber);
  const next = pki.issue('outbound-next', 'URI:spiffe://cluster.local/ns/a/sa/outbound');
  copyFileSync(next.key, outbound.key);
  copyFileSync(next.cert, outbound.cert);
  await reloaded(3);
  const after = await curl([`http://127.0.0.1:${outboundPort}/`]);
  assert.equal(after.status, 200);
  assert.equal(after.body, new X509Certificate(readFileSync(next.cert)).serialNumber);
});
