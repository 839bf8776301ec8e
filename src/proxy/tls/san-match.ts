import type { PeerCertificate } from 'node:tls';
import type { StringMatcher, SubjectAltNameMatcher } from '../../model/tls.js';

/** The SANs of one type from Node's "URI:a, DNS:b" form (PeerCertificate.subjectaltname, X509Certificate.subjectAltName). */
export function sansOfType(subjectAltName: string | undefined, type: 'URI' | 'DNS'): string[] {
  const out: string[] = [];
  for (const part of (subjectAltName ?? '').split(', ')) if (part.startsWith(`${type}:`)) out.push(part.slice(type.length + 1));
  return out;
}

/** The URI SANs of a peer certificate (SPIFFE IDs live there). */
export function uriSans(cert: PeerCertificate): string[] {
  return sansOfType(cert.subjectaltname, 'URI');
}

function matchString(m: StringMatcher, v: string): boolean {
  const value = m.ignoreCase ? v.toLowerCase() : v;
  const norm = (s: string): string => (m.ignoreCase ? s.toLowerCase() : s);
  if (m.exact !== undefined) return value === norm(m.exact);
  if (m.prefix !== undefined) return value.startsWith(norm(m.prefix));
  if (m.suffix !== undefined) return value.endsWith(norm(m.suffix));
  if (m.contains !== undefined) return value.includes(norm(m.contains));
  if (m.safeRegex) return new RegExp(`^(?:${m.safeRegex.regex})$`, m.ignoreCase ? 'i' : '').test(v);
  return false;
}

/** True when any SAN of the certificate satisfies any matcher (Envoy's match_typed_subject_alt_names). */
export function sanMatches(cert: PeerCertificate, matchers: readonly SubjectAltNameMatcher[]): boolean {
  if (matchers.length === 0) return true;
  const parts = (cert.subjectaltname ?? '').split(', ');
  for (const m of matchers) {
    const prefix = m.sanType === 'URI' ? 'URI:' : m.sanType === 'DNS' ? 'DNS:' : m.sanType === 'EMAIL' ? 'email:' : 'IP Address:';
    for (const p of parts) if (p.startsWith(prefix) && matchString(m.matcher, p.slice(prefix.length))) return true;
  }
  return false;
}
