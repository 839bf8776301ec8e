/**
 * /certs lists the running config's certificates as Envoy does (serial, SANs, validity, for served
 * chains and trust bundles), read with curl, and never any key material.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { curl } from '../support/curl.js';
import { freePort } from '../support/free-port.js';
import { startProxy, type RunningProxy } from '../support/proxy-process.js';
import { makePki } from '../support/tls-fixtures.js';

const pki = makePki();
const leaf = pki.issue('gw', 'DNS:gw.example.com,URI:spiffe://cluster.local/ns/shop/sa/gw,IP:127.0.0.1');
let proxy: RunningProxy;

before(async () => {
  const tls = {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        commonTlsContext: {
          // An inline key (development mode): the one place a key's bytes are in the config.
          tlsCertificates: [{ certificateChain: { filename: leaf.cert }, privateKey: { inlineString: readFileSync(leaf.key, 'utf8') } }],
          validationContext: { trustedCa: { inlineString: readFileSync(pki.caCert, 'utf8') } },
        },
      },
    },
  };
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  proxy = await startProxy(bootstrap([httpListener('tls', await freePort(), routes, {}, tls)], [staticCluster('up', [await freePort()])]), { extraArgs: ['--insecure-memory-keys'] });
});

after(async () => {
  await proxy?.stop();
});

/** What openssl says of a certificate file: serial (lowercase hex) and notAfter as epoch ms. */
function openssl(file: string): { serial: string; notAfterMs: number; notBeforeMs: number } {
  const out = execFileSync('openssl', ['x509', '-in', file, '-noout', '-serial', '-startdate', '-enddate'], { encoding: 'utf8' });
  return {
    serial: /serial=(\w+)/.exec(out)![1]!.toLowerCase(),
    notBeforeMs: Date.parse(/notBefore=(.+)/.exec(out)![1]!),
    notAfterMs: Date.parse(/notAfter=(.+)/.exec(out)![1]!),
  };
}

test('/certs lists the served certificate and the trust bundle with serial, SANs and validity', async () => {
  const r = await curl([`http://127.0.0.1:${proxy.adminPort}/certs`]);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type']!, /^application\/json/);
  const { certificates } = JSON.parse(r.body) as { certificates: Array<{ ca_cert: any[]; cert_chain: any[] }> };
  assert.equal(certificates.length, 1);
  const [served] = certificates[0]!.cert_chain;
  const want = openssl(leaf.cert);
  assert.equal(served.path, leaf.cert);
  assert.equal(served.serial_number, want.serial);
  assert.deepEqual(served.subject_alt_names, [{ dns: 'gw.example.com' }, { uri: 'spiffe://cluster.local/ns/shop/sa/gw' }, { ip_address: '127.0.0.1' }]);
  assert.equal(Date.parse(served.expiration_time), want.notAfterMs);
  assert.equal(Date.parse(served.valid_from), want.notBeforeMs);
  assert.equal(served.days_until_expiration, '0', 'a 1-day certificate expires in less than a day');
  const [ca] = certificates[0]!.ca_cert;
  assert.equal(ca.path, '<inline>');
  assert.equal(ca.serial_number, openssl(pki.caCert).serial);
  assert.equal(ca.days_until_expiration, '1');
});

test('/certs never shows key material, though the config holds a key inline', async () => {
  const r = await curl([`http://127.0.0.1:${proxy.adminPort}/certs`]);
  assert.equal(r.status, 200);
  assert.doesNotMatch(r.body, /PRIVATE KEY|BEGIN|inlineString|privateKey/);
});

test('/stats reports the fewest days a served or trusted certificate has left as server.days_until_first_cert_expiring, as Envoy', async () => {
  const r = await curl([`http://127.0.0.1:${proxy.adminPort}/stats?usedonly&filter=^server\\.days_until_first_cert_expiring$`]);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'server.days_until_first_cert_expiring: 0\n', 'the 1-day leaf expires in less than a day; the CA has a day left');
});
