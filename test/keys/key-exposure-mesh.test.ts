import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { bulwark, custodyCertificate, newStateDir, selfSignedInCustody, startKeyd, writeTemp, type RunningKeyd } from './keyd-fixture.js';
import { keyNeedles, processTree, scanEnvironAndCmdline, scanFiles, scanProcessMemory } from './secret-scan.js';

// A known gateway key, imported into the token; the CA and workload keys are generated inside tokens.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const needles = keyNeedles(Buffer.from(createPrivateKey(pem).export({ format: 'jwk' }).d!, 'base64url'), pem);
const TD = 'cluster.local';

interface Issued {
  certificate: string;
  token: string;
}

let state: string;
let keyd: RunningKeyd;
let app: TestUpstream;
const proxies: RunningProxy[] = [];
let gatewayPort: number;

function svid(s: Issued): object {
  return custodyCertificate(s.certificate, 'svid', s.token);
}

before(async () => {
  state = newStateDir();
  bulwark(['keys', 'import', '--label', 'gateway', '--state-dir', state, writeTemp('gateway.pem', pem)]);
  const bundle = (JSON.parse(bulwark(['ca', 'init', '--trust-domain', TD, '--state-dir', state])) as { bundle: string }).bundle;
  const frontend = JSON.parse(bulwark(['ca', 'issue', '--identity', 'shop/frontend', '--state-dir', state])) as Issued;
  const orders = JSON.parse(bulwark(['ca', 'issue', '--identity', 'shop/orders', '--state-dir', state])) as Issued;
  keyd = await startKeyd(state);
  const gatewayCert = selfSignedInCustody(state, 'gateway', 'gateway', 'DNS:shop.test');
  app = await startUpstream('orders-app');
  const [ordersPort, frontendPort] = [await freePort(), await freePort()];
  gatewayPort = await freePort();
  const all = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'next' } }]);
  const validation = (peer: string): object => ({ trustedCa: { filename: bundle }, matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: `spiffe://${TD}/ns/shop/sa/${peer}` } }] });
  const tlsSocket = (typedConfig: object): Record<string, unknown> => ({ transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig } });
  const args = { extraArgs: ['--keyd', state] };
  // orders sidecar (inbound, STRICT mTLS) → app
  proxies.push(
    await startProxy(
      bootstrap([httpListener('inbound', ordersPort, all, { statPrefix: 'inbound_orders' }, tlsSocket({ requireClientCertificate: true, commonTlsContext: { tlsCertificates: [svid(orders)], validationContext: validation('frontend') } }))], [staticCluster('next', [app.port])]),
      args,
    ),
  );
  // frontend sidecar (outbound) → mTLS → orders
  proxies.push(await startProxy(bootstrap([httpListener('outbound', frontendPort, all)], [staticCluster('next', [ordersPort], tlsSocket({ commonTlsContext: { tlsCertificates: [svid(frontend)], validationContext: validation('orders') } }))]), args));
  // gateway (TLS with the imported key) → frontend sidecar
  proxies.push(
    await startProxy(
      bootstrap([httpListener('gateway', gatewayPort, all, {}, tlsSocket({ commonTlsContext: { tlsCertificates: [custodyCertificate(gatewayCert, 'gateway')] } }))], [staticCluster('next', [frontendPort])]),
      args,
    ),
  );
});

after(async () => {
  for (const p of proxies) await p.stop();
  await app?.close();
  await keyd?.stop();
});

test('keyd + CA + gateway + two sidecars: traffic flows, and the imported key is in no file, environment, command line or proxy memory', async () => {
  for (let i = 0; i < 20; i++) {
    const r = await curl(['-k', '--resolve', `shop.test:${gatewayPort}:127.0.0.1`, `https://shop.test:${gatewayPort}/cart/${i}`]);
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).upstream, 'orders-app');
  }
  const keys = JSON.parse(bulwark(['keys', 'list', '--json', '--state-dir', state])) as Array<{ token: string; extractable: boolean; sensitive: boolean }>;
  assert.ok(keys.length >= 4, 'gateway, CA and two workload keys');
  assert.ok(keys.every((k) => k.sensitive && !k.extractable), 'every key is sensitive and non-extractable');
  assert.deepEqual(scanFiles(state, needles), []);
  assert.deepEqual(scanEnvironAndCmdline(needles), []);
  for (const p of proxies) assert.deepEqual(processTree(p.child.pid!).flatMap((pid) => scanProcessMemory(pid, needles)), []);
});
