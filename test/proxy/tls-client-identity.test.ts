/**
 * A client certificate is an identity only where its filter chain verified it. A listener asks every
 * client for a certificate when any of its chains verifies one, so a chain that verifies none still
 * receives whatever a client sends: that certificate must not reach the application as
 * x-forwarded-client-cert, nor the access log as the peer principal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrap, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const ADMIN = 'spiffe://cluster.local/ns/default/sa/admin';
const mesh = makePki();
const forger = makePki();
const accessLog = join(mkdtempSync(join(tmpdir(), 'bulwark-client-identity-')), 'access.log');
let app: TestUpstream;
let proxy: RunningProxy;
let port: number;

before(async () => {
  app = await startUpstream('app');
  port = await freePort();
  const server = mesh.issue('gateway', 'DNS:public.test,DNS:mesh.test');
  const certs = { tlsCertificates: [{ certificateChain: { filename: server.cert }, privateKey: { filename: server.key } }] };
  const chain = (serverName: string, tls: object) => ({
    filterChainMatch: { serverNames: [serverName] },
    transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: tls },
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typedConfig: {
          statPrefix: serverName,
          routeConfig: routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]),
          forwardClientCertDetails: 'SANITIZE_SET',
          setCurrentClientCertDetails: { uri: true },
          accessLog: [{ typedConfig: { path: accessLog } }],
        },
      },
    ],
  });
  proxy = await startProxy(
    bootstrap(
      [
        {
          name: 'gateway',
          address: { socketAddress: { address: '127.0.0.1', portValue: port } },
          filterChains: [
            // A public host: server-side TLS only, no client certificate is checked.
            chain('public.test', { commonTlsContext: certs }),
            // A mesh host on the same port: mutual TLS against the mesh CA.
            chain('mesh.test', { requireClientCertificate: true, commonTlsContext: { ...certs, validationContext: { trustedCa: { filename: mesh.caCert } } } }),
          ],
        },
      ],
      [staticCluster('app', [app.port])],
    ),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await app?.close();
});

function call(host: string, client: { cert: string; key: string }, version: string, path: string) {
  return curl([version, '--cacert', mesh.caCert, '--cert', client.cert, '--key', client.key, '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}${path}`]);
}

async function principalLogged(path: string): Promise<string | null> {
  await sleep(300);
  const lines = readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; downstream_peer_principal: string | null });
  return lines.find((l) => l.path === path)!.downstream_peer_principal;
}

for (const version of ['--http1.1', '--http2']) {
  test(`${version}: a forged client certificate on a chain that checks none is no identity`, async () => {
    const forged = forger.issue(`forged${version}`, `URI:${ADMIN}`);
    const path = `/public${version}`;
    const r = await call('public.test', forged, version, path);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).headers['x-forwarded-client-cert'], undefined);
    assert.equal(await principalLogged(path), null);
  });

  test(`${version}: a verified client certificate on the mutual-TLS chain is the caller's identity`, async () => {
    const member = mesh.issue(`member${version}`, `URI:${ADMIN}`);
    const path = `/mesh${version}`;
    const r = await call('mesh.test', member, version, path);
    assert.equal(r.status, 200);
    assert.match(JSON.parse(r.body).headers['x-forwarded-client-cert'], new RegExp(`URI=${ADMIN}$`));
    assert.equal(await principalLogged(path), ADMIN);
  });
}
