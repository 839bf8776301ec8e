import type tls from 'node:tls';
import type { KeyProvider, KeyRequest } from './key-provider.js';
import { readDataSource, TlsMaterialError } from './tls-material.js';

/**
 * Keys as PEM in proxy memory: development and benchmark baseline only. Refused unless the proxy runs
 * with --insecure-memory-keys, and announced loudly when used.
 */
export const memoryKeyProvider: KeyProvider = {
  name: 'memory',
  options(req: KeyRequest): tls.SecureContextOptions {
    if (!req.allowMemoryKeys) {
      throw new TlsMaterialError(`${req.where}: a privateKey in memory is refused; keep the key in custody (privateKeyProvider pkcs11) or pass --insecure-memory-keys for development`);
    }
    if (!req.cert.privateKey) throw new TlsMaterialError(`${req.where}: the memory key provider needs privateKey`);
    req.onMemoryKey(req.where);
    return { cert: req.chainPem, key: readDataSource(req.cert.privateKey, `${req.where} privateKey`) };
  },
};
