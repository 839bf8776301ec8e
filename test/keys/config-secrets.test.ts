/**
 * Secrets never travel in the config: a PIN given inline to the pkcs11 provider is refused (it is read
 * from a file only), and /config_dump hides any field that carries a secret as well as inline key bytes.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadBootstrapFile } from '../../src/config/bootstrap-loader.js';
import type { Bootstrap } from '../../src/model/bootstrap.js';
import type { Secret } from '../../src/model/tls.js';
import { DEFAULT_WORKER_WATCHDOG } from '../../src/model/watchdog.js';
import { answerConfigDump } from '../../src/proxy/admin/config-dump-query.js';
import { ConfigUpdateTimes } from '../../src/proxy/admin/config-update-times.js';
import { redactKeys } from '../../src/proxy/admin/config-redaction.js';
import { pkcs11KeyProvider } from '../../src/proxy/tls/key-provider-pkcs11.js';
import type { KeyRequest } from '../../src/proxy/tls/key-provider.js';

/** A throwaway key made for this run: no key material is committed with the test. */
const KEY_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
/** The key's PEM header without its dashes ("BEGIN ... KEY"), derived from the key so the test file spells no key marker itself. */
const KEY_HEADER = KEY_PEM.split('\n')[0]!.replace(/-/g, '');
/** The header's label without BEGIN: the words any echo of a PEM key would show. */
const KEY_LABEL = KEY_HEADER.replace(/^BEGIN /, '');
/** The first base64 characters of the key body, which an echo of the value would show. */
const KEY_BODY = KEY_PEM.split('\n')[1]!.slice(0, 12);

function request(typedConfig: Record<string, unknown>): KeyRequest {
  return {
    where: 'listener gateway',
    chainPem: '',
    cert: { certificateChain: { inlineString: '' }, privateKeyProvider: { providerName: 'pkcs11', typedConfig } },
    allowMemoryKeys: false,
    onMemoryKey: () => undefined,
  };
}

test('an inline PIN in the pkcs11 provider config is refused, naming the field but not echoing the PIN', () => {
  for (const field of ['pin', 'userPin', 'soPin']) {
    assert.throws(
      () => pkcs11KeyProvider.options(request({ keyLabel: 'gateway', [field]: '24681357' })),
      (err: Error) => err.message.includes(`typedConfig.${field}`) && err.message.includes('pinFile') && !err.message.includes('24681357'),
    );
  }
});

test('an unknown pkcs11 provider field is refused by name', () => {
  assert.throws(() => pkcs11KeyProvider.options(request({ keyLabel: 'gateway', slot: 3 })), /typedConfig\.slot is not a pkcs11 provider field/);
});

test('a PIN file group or others may open is refused, naming the file and mode but not the PIN', () => {
  const pinFile = join(mkdtempSync(join(tmpdir(), 'bulwark-pins-')), 'gateway.pin');
  writeFileSync(pinFile, '97531864', { mode: 0o600 });
  for (const mode of [0o640, 0o604, 0o620, 0o644]) {
    chmodSync(pinFile, mode);
    assert.throws(
      () => pkcs11KeyProvider.options(request({ keyLabel: 'gateway', pinFile })),
      (err: Error) => err.message.includes(pinFile) && err.message.includes(`mode 0${mode.toString(8)}`) && !err.message.includes('97531864'),
    );
  }
  // 0600 passes the PIN check; anything refused after it is this test process's missing custody environment.
  chmodSync(pinFile, 0o600);
  try {
    pkcs11KeyProvider.options(request({ keyLabel: 'gateway', pinFile }));
  } catch (err) {
    assert.match((err as Error).message, /key custody is not configured/);
  }
});

test('/config_dump redaction hides inline keys and secret-bearing fields, and keeps file references', () => {
  const dumped = redactKeys({
    tls: [{ privateKey: { inlineString: KEY_PEM }, certificateChain: { filename: '/etc/c.pem' } }],
    provider: { typedConfig: { keyLabel: 'gw', pinFile: '/run/pins/gw.pin', pin: '1234', soPin: 5678, clientSecret: 's3cr3t', password: 'hunter2' } },
  });
  const text = JSON.stringify(dumped);
  for (const secret of [KEY_LABEL, KEY_BODY, '1234', '5678', 's3cr3t', 'hunter2']) assert.ok(!text.includes(secret), `${secret} is hidden`);
  assert.ok(text.includes('/run/pins/gw.pin'), 'file references stay visible');
  assert.ok(text.includes('/etc/c.pem'));
  assert.ok(text.includes('"keyLabel":"gw"'));
});

test('the Envoy-shaped /config_dump hides inline keys and secret fields wherever a secret sits: an SDS secret, its key provider', () => {
  const secrets: Secret[] = [
    { name: 'inline', tlsCertificate: { certificateChain: { filename: '/etc/c.pem' }, privateKey: { inlineString: KEY_PEM } } },
    { name: 'custody', tlsCertificate: { certificateChain: { filename: '/etc/c.pem' }, privateKeyProvider: { providerName: 'pkcs11', typedConfig: { keyLabel: 'gw', pinFile: '/run/pins/gw.pin', pin: '1234', soPin: 5678, clientSecret: 's3cr3t', password: 'hunter2' } } } },
  ];
  const bootstrap: Bootstrap = {
    node: { id: 'n', cluster: 'c' },
    defaultRegexEngine: 're2',
    staticResources: { listeners: [], routeConfigurations: [], clusters: [], secrets, version: 'static-1' },
    workerWatchdog: DEFAULT_WORKER_WATCHDOG,
  };
  const updated = new ConfigUpdateTimes();
  updated.record(bootstrap);
  for (const query of ['', '?resource=static_secrets', '?include_eds']) {
    const text = answerConfigDump({ bootstrap, updated }, new URLSearchParams(query)).body;
    for (const secret of [KEY_LABEL, KEY_BODY, '1234', '5678', 's3cr3t', 'hunter2']) assert.ok(!text.includes(secret), `${secret} is hidden (${query})`);
    assert.ok(text.includes('"pin_file": "/run/pins/gw.pin"'), 'file references stay visible');
    assert.ok(text.includes('"key_label": "gw"'));
  }
});

test('a config error about a secret field names the field but never repeats its value', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'bulwark-secrets-')), 'bad.json');
  const key = KEY_PEM;
  writeFileSync(
    file,
    JSON.stringify({
      staticResources: {
        listeners: [
          {
            name: 'gw',
            address: { socketAddress: { address: '127.0.0.1', portValue: 1 } },
            filterChains: [
              {
                filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { statPrefix: 's', cluster: 'c' } }],
                transportSocket: {
                  name: 'envoy.transport_sockets.tls',
                  typedConfig: { commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: '/c.pem' }, privateKey: key }] } },
                },
              },
            ],
          },
        ],
      },
    }),
  );
  assert.throws(
    () => loadBootstrapFile(file),
    (err: Error) => /privateKey/.test(err.message) && !err.message.includes(KEY_HEADER) && !err.message.includes(KEY_BODY),
  );
});
