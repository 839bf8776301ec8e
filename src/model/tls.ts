import type { Milliseconds } from './duration.js';

/** A data source for PEM material: a file, or inline text (never used for private keys in custody). */
export interface DataSource {
  filename?: string;
  inlineString?: string;
}

/** Where a private key lives: in memory (PEM) or behind a KeyProvider (e.g. pkcs11 via keyd). */
export interface PrivateKeyProvider {
  providerName: string;
  /** Provider-specific settings, e.g. { keyLabel } for pkcs11. */
  typedConfig: Record<string, unknown>;
}

export interface TlsCertificate {
  certificateChain: DataSource;
  privateKey?: DataSource;
  privateKeyProvider?: PrivateKeyProvider;
}

/** Envoy's StringMatcher, used for SAN and header/query matching. */
export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safeRegex?: { regex: string };
  ignoreCase?: boolean;
}

export interface SubjectAltNameMatcher {
  sanType: 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS';
  matcher: StringMatcher;
}

export interface CertificateValidationContext {
  trustedCa?: DataSource;
  matchTypedSubjectAltNames?: SubjectAltNameMatcher[];
}

export interface TlsParams {
  tlsMinimumProtocolVersion: 'TLSv1_2' | 'TLSv1_3';
  tlsMaximumProtocolVersion: 'TLSv1_2' | 'TLSv1_3';
  cipherSuites?: string[];
  ecdhCurves?: string[];
}

export interface SdsSecretConfig {
  name: string;
}

export interface CommonTlsContext {
  tlsParams?: TlsParams;
  tlsCertificates: TlsCertificate[];
  tlsCertificateSdsSecretConfigs: SdsSecretConfig[];
  validationContext?: CertificateValidationContext;
  validationContextSdsSecretConfig?: SdsSecretConfig;
  alpnProtocols: string[];
}

export interface DownstreamTlsContext {
  commonTlsContext: CommonTlsContext;
  requireClientCertificate: boolean;
  sessionTimeout?: Milliseconds;
}

export interface UpstreamTlsContext {
  commonTlsContext: CommonTlsContext;
  sni?: string;
}

/** An SDS secret: a certificate with its key reference, or a validation context (trust bundle). */
export interface Secret {
  name: string;
  tlsCertificate?: TlsCertificate;
  validationContext?: CertificateValidationContext;
}
