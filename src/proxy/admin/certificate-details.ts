/**
 * Envoy's /certs (admin.v3.Certificates): for each TLS context and SDS secret of the running config,
 * its certificates (`cert_chain`: each served certificate, its leaf) and trust bundle (`ca_cert`),
 * with serial, SANs and validity. Only certificateChain and trustedCa are read: private keys, their
 * providers and PINs never reach this code.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ResourceSnapshot } from '../../model/bootstrap.js';
import type { CertificateValidationContext, DataSource, TlsCertificate } from '../../model/tls.js';

interface SubjectAltName {
  dns?: string;
  uri?: string;
  ip_address?: string;
}

interface CertificateDetails {
  path: string;
  serial_number: string;
  subject_alt_names: SubjectAltName[];
  days_until_expiration: string;
  valid_from: string;
  expiration_time: string;
}

interface CertificateGroup {
  ca_cert: CertificateDetails[];
  cert_chain: CertificateDetails[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const DAY_MS = 86_400_000;

/** The /certs body for `snapshot`, at `nowMs`. */
export function certificateDetails(snapshot: ResourceSnapshot, nowMs = Date.now()): { certificates: CertificateGroup[] } {
  const groups: CertificateGroup[] = [];
  const add = (certs: readonly TlsCertificate[] | undefined, validation: CertificateValidationContext | undefined): void => {
    const group: CertificateGroup = {
      ca_cert: validation?.trustedCa ? describe(validation.trustedCa, 'all', nowMs) : [],
      cert_chain: (certs ?? []).flatMap((c) => describe(c.certificateChain, 'leaf', nowMs)),
    };
    if (group.ca_cert.length > 0 || group.cert_chain.length > 0) groups.push(group);
  };
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'commonTlsContext' && child !== null && typeof child === 'object') {
          const c = child as { tlsCertificates?: TlsCertificate[]; validationContext?: CertificateValidationContext };
          add(c.tlsCertificates, c.validationContext);
        } else if (key !== 'secrets') walk(child);
      }
    }
  };
  walk(snapshot);
  for (const s of snapshot.secrets) add(s.tlsCertificate ? [s.tlsCertificate] : undefined, s.validationContext);
  return { certificates: groups };
}

/** The certificates of a PEM source: its first (a served chain's leaf) or all (a trust bundle). */
function describe(source: DataSource, which: 'leaf' | 'all', nowMs: number): CertificateDetails[] {
  let text: string;
  try {
    text = source.filename !== undefined ? readFileSync(source.filename, 'utf8') : (source.inlineString ?? '');
  } catch {
    return [];
  }
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  const path = source.filename ?? '<inline>';
  const out: CertificateDetails[] = [];
  for (const block of which === 'leaf' ? blocks.slice(0, 1) : blocks) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      continue;
    }
    const expires = Date.parse(cert.validTo);
    out.push({
      path,
      serial_number: cert.serialNumber.toLowerCase(),
      subject_alt_names: subjectAltNames(cert.subjectAltName),
      days_until_expiration: String(Math.max(0, Math.floor((expires - nowMs) / DAY_MS))),
      valid_from: rfc3339(Date.parse(cert.validFrom)),
      expiration_time: rfc3339(expires),
    });
  }
  return out;
}

/** Node's "DNS:a, URI:b, IP Address:c" as Envoy's SubjectAlternateName list. */
function subjectAltNames(text: string | undefined): SubjectAltName[] {
  if (text === undefined) return [];
  const out: SubjectAltName[] = [];
  for (const entry of text.split(', ')) {
    const i = entry.indexOf(':');
    const kind = entry.slice(0, i);
    const value = entry.slice(i + 1);
    if (kind === 'DNS') out.push({ dns: value });
    else if (kind === 'URI') out.push({ uri: value });
    else if (kind === 'IP Address') out.push({ ip_address: value });
  }
  return out;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
