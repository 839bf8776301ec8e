import { createHash } from 'node:crypto';
import type { SubjectAltNameMatcher } from '../../model/tls.js';
import { sessionTicketKeys } from './session-ticket-keys.js';

/** What a TLS session made on a filter chain vouches for: the server identity and the client-certificate checks. */
export interface ChainSessionFacts {
  /** The listener and chain, e.g. `listener "gw" chain "shop"`. */
  where: string;
  /** The chain's position in its listener: two chains may share a name. */
  index: number;
  certificateChainPem: string;
  trustedCaPem: string | undefined;
  requireClientCertificate: boolean;
  subjectAltNameMatchers: readonly SubjectAltNameMatcher[];
}

/**
 * The session id context and ticket keys of one filter chain's context. Each chain's handshakes run
 * in its own context (see ChainTlsServer), and OpenSSL resumes a session only where both match: a
 * ticket sealed by one chain cannot be opened by another, and a session whose id context differs is
 * treated as a cache miss (a full handshake). Both derive from the chain and from what its sessions
 * vouch for, so a changed certificate, trust bundle or client-certificate rule starts new sessions.
 * A server context that asks for client certificates needs a session id context anyway, or OpenSSL
 * refuses every resumption attempt ("session id context uninitialized").
 */
export function chainSessionOptions(facts: ChainSessionFacts): { sessionIdContext: string; ticketKeys: Buffer } {
  const scope = createHash('sha256')
    .update(
      JSON.stringify([facts.where, facts.index, facts.certificateChainPem, facts.trustedCaPem ?? null, facts.requireClientCertificate, facts.subjectAltNameMatchers]),
    )
    .digest('hex');
  // OpenSSL takes at most 32 bytes of session id context.
  return { sessionIdContext: scope.slice(0, 32), ticketKeys: sessionTicketKeys(scope) };
}
