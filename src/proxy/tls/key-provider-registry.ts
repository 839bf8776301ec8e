import type { KeyProvider } from './key-provider.js';
import { memoryKeyProvider } from './key-provider-memory.js';
import { pkcs11KeyProvider } from './key-provider-pkcs11.js';
import { TlsMaterialError } from './tls-material.js';

/** Key providers by the name a TlsCertificate's privateKeyProvider.providerName uses. */
const providers = new Map<string, KeyProvider>([
  [pkcs11KeyProvider.name, pkcs11KeyProvider],
  [memoryKeyProvider.name, memoryKeyProvider],
]);

/** The provider registered under `name`. */
export function keyProvider(name: string, where: string): KeyProvider {
  const p = providers.get(name);
  if (!p) throw new TlsMaterialError(`${where}: unknown privateKeyProvider "${name}" (known: ${[...providers.keys()].join(', ')})`);
  return p;
}
