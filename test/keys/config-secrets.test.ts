/**
 * Secrets never travel in the config: a PIN given inline to the pkcs11 provider is refused (it is read
 * from a file only), and /config_dump hides any field that carries a secret as well as inline key bytes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadBootstrapFile } from '../../src/config/bootstrap-loader.js';
import { redactKeys } from '../../src/proxy/admin/config-redaction.js';
import { pkcs11KeyProvider } from '../../src/proxy/tls/key-provider-pkcs11.js';
import type { KeyRequest } from '../../src/proxy/tls/key-provider.js';

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

test('/config_dump redaction hides inline keys and secret-bearing fields, and keeps file references', () => {
  const dumped = redactKeys({
    tls: [{ privateKey: { inlineString: '-----BEGIN PRIVATE KEY-----\nAAAA' }, certificateChain: { filename: '/etc/c.pem' } }],
    provider: { typedConfig: { keyLabel: 'gw', pinFile: '/run/pins/gw.pin', pin: '1234', soPin: 5678, clientSecret: 's3cr3t', password: 'hunter2' } },
  });
  const text = JSON.stringify(dumped);
  for (const secret of ['PRIVATE KEY', '1234', '5678', 's3cr3t', 'hunter2']) assert.ok(!text.includes(secret), `${secret} is hidden`);
  assert.ok(text.includes('/run/pins/gw.pin'), 'file references stay visible');
  assert.ok(text.includes('/etc/c.pem'));
  assert.ok(text.includes('"keyLabel":"gw"'));
});

test('a config error about a secret field names the field but never repeats its value', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'bulwark-secrets-')), 'bad.json');
  const key = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';
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
    (err: Error) => /privateKey/.test(err.message) && !err.message.includes('BEGIN PRIVATE KEY') && !err.message.includes('MIIEvQ'),
  );
});
