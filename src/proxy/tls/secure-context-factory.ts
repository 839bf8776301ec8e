import { constants } from 'node:crypto';
import tls from 'node:tls';
import type { CertificateValidationContext, CommonTlsContext, Secret, SubjectAltNameMatcher, TlsCertificate } from '../../model/tls.js';
import { keyProvider } from './key-provider-registry.js';
import { sessionTicketKeys } from './session-ticket-keys.js';
import { certificatesOf, findSecret, readDataSource } from './tls-material.js';

/** Settings that decide whether keys held in process memory are allowed. */
export interface KeyPolicy {
  /** The explicit insecure switch: without it, a privateKey in config (the memory provider) is refused. */
  allowMemoryKeys: boolean;
  onMemoryKey(where: string): void;
}

const VERSIONS = { TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' } as const;
/** Forward secrecy only, AEAD only: what testssl.sh expects of a modern endpoint. */
const DEFAULT_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * Renegotiation is refused, in both directions, as Envoy (BoringSSL) does: a client-initiated one is a
 * cheap way to make the server redo its private-key operation (testssl.sh: "Secure Client-Initiated
 * Renegotiation ... DoS threat"), and here each of those is a signature in the key-custody token.
 */
const NO_RENEGOTIATION = constants.SSL_OP_NO_RENEGOTIATION;

/**
 * What every context this proxy makes carries, whatever else it sets: renegotiation refused, and the
 * session ticket keys of the config being applied (shared by the workers: a ticket one worker issued
 * resumes on another).
 */
export function withProxyTlsPolicy(options: tls.SecureContextOptions): tls.SecureContextOptions {
  return { ticketKeys: sessionTicketKeys(), ...options, secureOptions: (options.secureOptions ?? 0) | NO_RENEGOTIATION };
}

/** Builds a SecureContext for one certificate plus the shared settings of a CommonTlsContext. */
export function createSecureContext(
  common: CommonTlsContext,
  cert: TlsCertificate | undefined,
  secrets: readonly Secret[],
  policy: KeyPolicy,
  where: string,
  extra: tls.SecureContextOptions = {},
): tls.SecureContext {
  const opts: tls.SecureContextOptions = {
    minVersion: VERSIONS[common.tlsParams?.tlsMinimumProtocolVersion ?? 'TLSv1_2'],
    maxVersion: VERSIONS[common.tlsParams?.tlsMaximumProtocolVersion ?? 'TLSv1_3'],
    ciphers: common.tlsParams?.cipherSuites?.join(':') ?? DEFAULT_CIPHERS,
    ecdhCurve: common.tlsParams?.ecdhCurves?.join(':') ?? 'X25519:P-256:P-384',
    honorCipherOrder: true,
    ...extra,
  };
  if (cert) {
    const chain = readDataSource(cert.certificateChain, `${where} certificateChain`);
    // An inline privateKey is the memory provider; anything else names its provider.
    const provider = keyProvider(cert.privateKey ? 'memory' : cert.privateKeyProvider!.providerName, where);
    Object.assign(opts, provider.options({ cert, chainPem: chain, where, allowMemoryKeys: policy.allowMemoryKeys, onMemoryKey: policy.onMemoryKey }));
  }
  const ca = trustedCa(common, secrets, where);
  if (ca) opts.ca = ca;
  return tls.createSecureContext(withProxyTlsPolicy(opts));
}

/** The validation context of a TLS context: inline, or the SDS secret it names. */
export function validationContextOf(common: CommonTlsContext, secrets: readonly Secret[]): CertificateValidationContext | undefined {
  if (common.validationContext) return common.validationContext;
  return common.validationContextSdsSecretConfig ? findSecret(secrets, common.validationContextSdsSecretConfig.name).validationContext : undefined;
}

/** The SAN matchers a peer certificate must satisfy (inline or SDS validation context); none means any. */
export function subjectAltNameMatchers(common: CommonTlsContext, secrets: readonly Secret[]): readonly SubjectAltNameMatcher[] {
  return validationContextOf(common, secrets)?.matchTypedSubjectAltNames ?? [];
}

/** The trust bundle PEM of a context (inline validationContext or an SDS one), if any. */
export function trustedCa(common: CommonTlsContext, secrets: readonly Secret[], where: string): string | undefined {
  const vc = validationContextOf(common, secrets);
  return vc?.trustedCa ? readDataSource(vc.trustedCa, `${where} trustedCa`) : undefined;
}

/** All certificates a TLS context serves (inline and SDS). */
export function contextCertificates(common: CommonTlsContext, secrets: readonly Secret[]): TlsCertificate[] {
  return certificatesOf(common.tlsCertificates, common.tlsCertificateSdsSecretConfigs, secrets);
}
