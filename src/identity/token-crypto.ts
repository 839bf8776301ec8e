import { createHash, webcrypto } from 'node:crypto';
import type { TokenSession } from '../keys/pkcs11-token.js';

/** A stand-in CryptoKey naming a private key that stays inside a PKCS#11 token. */
export interface TokenKey extends CryptoKey {
  readonly tokenSession: TokenSession;
  readonly tokenLabel: string;
}

/** A handle for an ECDSA P-256 key in a token; only its label travels, never key bytes. */
export function tokenKey(session: TokenSession, label: string): TokenKey {
  return {
    algorithm: { name: 'ECDSA', namedCurve: 'P-256' } as EcKeyAlgorithm,
    extractable: false,
    type: 'private',
    usages: ['sign'],
    tokenSession: session,
    tokenLabel: label,
  } as TokenKey;
}

function isTokenKey(key: unknown): key is TokenKey {
  return typeof key === 'object' && key !== null && 'tokenSession' in key;
}

/**
 * A WebCrypto whose `sign` with a TokenKey hashes here and signs the digest inside the token
 * (CKM_ECDSA); everything else (digests, public keys, verification) is Node's WebCrypto. This is how
 * certificates and CSRs get signed by keys that cannot leave custody.
 */
export function tokenCrypto(): Crypto {
  const subtle = webcrypto.subtle;
  const wrapped = new Proxy(subtle, {
    get(target, prop, receiver) {
      if (prop === 'sign') {
        return async (algorithm: AlgorithmIdentifier | EcdsaParams, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer> => {
          if (!isTokenKey(key)) return subtle.sign(algorithm as EcdsaParams, key, data);
          const hash = typeof algorithm === 'object' && 'hash' in algorithm ? algorithm.hash : 'SHA-256';
          const hashName = (typeof hash === 'string' ? hash : hash.name).toUpperCase();
          if (hashName !== 'SHA-256') throw new Error(`token keys sign SHA-256 digests only, not ${hashName}`);
          const bytes = data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
          const signature = key.tokenSession.signDigestEcdsa(key.tokenLabel, createHash('sha256').update(bytes).digest());
          return signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { subtle: wrapped, getRandomValues: webcrypto.getRandomValues.bind(webcrypto), randomUUID: webcrypto.randomUUID.bind(webcrypto) } as unknown as Crypto;
}
