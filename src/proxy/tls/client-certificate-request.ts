import type { DownstreamTlsContext } from '../../model/tls.js';

/** The chain has a validation context (inline or SDS) to check client certificates against. */
export function verifiesClientCert(ts: DownstreamTlsContext): boolean {
  const c = ts.commonTlsContext;
  return c.validationContext?.trustedCa !== undefined || c.validationContextSdsSecretConfig !== undefined;
}

/**
 * Whether a chain's handshakes send a CertificateRequest. As in Envoy, only a chain that checks client
 * certificates asks for one (and insists only with requireClientCertificate): a public host beside an
 * mTLS host on the same listener must not make browsers prompt for a certificate.
 */
export function requestsClientCert(ts: DownstreamTlsContext): boolean {
  return ts.requireClientCertificate || verifiesClientCert(ts);
}
