/**
 * A validation context given through SDS (validationContextSdsSecretConfig, as Istio sends it) is
 * enforced whole: its trusted CA and its matchTypedSubjectAltNames, for client certificates on a
 * listener and for the server certificate of an upstream.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const EXPECTED = 'spiffe://cluster.local/ns/shop/sa/web';
const OTHER = 'spiffe://cluster.local/ns/shop/sa/intruder';
const pki = makePki();
let app: TestUpstream;
const tlsApps: https.Server[] = [];
let proxy: RunningProxy;
let inboundPort: number;
let outboundPort: number;

function tlsApp(sans: string): Promise<number> {
  const c = pki.issue(`app-${tlsApps.length}`, sans);
  const server = https.createServer({ cert: readFileSync(c.cert), key: readFileSync(c.key) }, (_req, res) => res.end('reached'));
  tlsApps.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

before(async () => {
  app = await startUpstream('app');
  inboundPort = await freePort();
  outboundPort = await freePort();
  const server = pki.issue('server', 'DNS:localhost');
  const sds = { validationContextSdsSecretConfig: { name: 'peer-validation', sdsConfig: { ads: {} } } };
  const secrets = [{ name: 'peer-validation', validationContext: { trustedCa: { filename: pki.caCert }, matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: EXPECTED } }] } }];
  const upstreamTls = (sni: string) => ({ transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { sni, commonTlsContext: sds } } });
  proxy = await startProxy(
    bootstrap(
      [
        httpListener('inbound', inboundPort, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'app' } }]), {}, {
          transportSocket: {
            name: 'envoy.transport_sockets.tls',
            typedConfig: { requireClientCertificate: true, commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: server.cert }, privateKey: { filename: server.key } }], ...sds } },
          },
        }),
        httpListener('outbound', outboundPort, routeConfig([
          { match: { prefix: '/right' }, route: { cluster: 'right' } },
          { match: { prefix: '/wrong' }, route: { cluster: 'wrong' } },
        ])),
      ],
      [
        staticCluster('app', [app.port]),
        staticCluster('right', [await tlsApp(`DNS:localhost,URI:${EXPECTED}`)], upstreamTls('localhost')),
        staticCluster('wrong', [await tlsApp(`DNS:localhost,URI:${OTHER}`)], upstreamTls('localhost')),
      ],
      { secrets },
    ),
    { extraArgs: ['--insecure-memory-keys'] },
  );
});

after(async () => {
  await proxy?.stop();
  await app?.close();
  for (const s of tlsApps) s.close();
});

test('a listener enforces the SAN matchers of an SDS validation context on client certificates', async () => {
  const call = (c: { cert: string; key: string }) =>
    curl(['--cacert', pki.caCert, '--cert', c.cert, '--key', c.key, '--resolve', `localhost:${inboundPort}:127.0.0.1`, `https://localhost:${inboundPort}/`], 5000);
  assert.equal((await call(pki.issue('web', `URI:${EXPECTED}`))).status, 200);
  await assert.rejects(call(pki.issue('intruder', `URI:${OTHER}`)), /curl failed/);
  assert.match(proxy.logs(), /peer certificate refused.*subject alternative names do not match/);
});

test("an upstream's certificate must match the SAN matchers of an SDS validation context", async () => {
  const right = await curl([`http://127.0.0.1:${outboundPort}/right`]);
  assert.equal(right.status, 200);
  assert.equal(right.body, 'reached');
  const wrong = await curl([`http://127.0.0.1:${outboundPort}/wrong`]);
  assert.equal(wrong.status, 503);
  assert.notEqual(wrong.body, 'reached');
});
