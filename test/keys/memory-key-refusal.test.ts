/**
 * A private key given to the proxy itself (a file or inline PEM) without --insecure-memory-keys is refused
 * at once, with one reason that names the flag and echoes no key bytes: no key custody retries and no
 * worker replacements, which are for keyd failing to sign, and no keyd is involved here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrap, httpListener, routeConfig, staticCluster } from '../support/config-builder.js';
import { freePort } from '../support/free-port.js';
import { startProxy } from '../support/proxy-process.js';
import { makePki, pem } from '../support/tls-fixtures.js';

const leaf = makePki().issue('gateway', 'DNS:gateway.test');
const keyPem = pem(leaf.key);
/** The base64 lines of the PEM body: any echo of the key would show one of them. */
const keyLines = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));

async function refusal(privateKey: object, concurrency: number): Promise<string> {
  const port = await freePort();
  const tls = { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: leaf.cert }, privateKey }] } } } };
  const started = Date.now();
  const err = await startProxy(bootstrap([httpListener('gw', port, routeConfig([{ match: { prefix: '/' }, route: { cluster: 'up' } }]), {}, tls)], [staticCluster('up', [1])]), { concurrency }).then(
    () => assert.fail('the proxy started with a key in its memory'),
    (e: Error) => e.message,
  );
  assert.ok(Date.now() - started < 15_000, 'refused without a retry loop');
  return err;
}

for (const concurrency of [1, 2]) {
  for (const [how, privateKey] of [
    ['file', { filename: leaf.key }],
    ['inline PEM', { inlineString: keyPem }],
  ] as const) {
    test(`a privateKey as ${how} without --insecure-memory-keys is refused once, plainly (${concurrency} worker${concurrency > 1 ? 's' : ''})`, async () => {
      const logs = await refusal(privateKey, concurrency);
      assert.match(logs, /a privateKey in memory is refused.*--insecure-memory-keys/);
      assert.doesNotMatch(logs, /key custody failed|through keyd|worker replaced/);
      for (const line of keyLines) assert.ok(!logs.includes(line), 'no key bytes in the logs');
    });
  }
}
