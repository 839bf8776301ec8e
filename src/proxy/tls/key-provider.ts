import type tls from 'node:tls';
import type { TlsCertificate } from '../../model/tls.js';

/** Why and where a key is being resolved, for messages and for the memory provider's warning. */
export interface KeyRequest {
  cert: TlsCertificate;
  chainPem: string;
  where: string;
  allowMemoryKeys: boolean;
  onMemoryKey(where: string): void;
}

/**
 * Where a certificate's private key lives. A provider turns a certificate into the TLS options that
 * let OpenSSL sign with that key: an engine and a key URI (pkcs11), or the PEM itself (memory).
 */
export interface KeyProvider {
  readonly name: string;
  options(req: KeyRequest): tls.SecureContextOptions;
}
