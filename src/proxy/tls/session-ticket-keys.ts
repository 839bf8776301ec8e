import { createHmac, randomBytes } from 'node:crypto';

/**
 * The keys that seal this proxy's TLS session tickets (48 bytes: name, HMAC and AES keys).
 *
 * - Shared: with workers, the primary makes the secret and gives each worker the same one over IPC
 *   (never the environment, which /proc shows), so a client that resumes may land on any worker, as
 *   with Envoy's threads sharing one context.
 * - Per config: the keys are derived from the secret and the config version, so every applied config
 *   seals with new keys, the same in every worker. A session made while a CA was trusted, or before a
 *   client-certificate rule changed, cannot be resumed under the config that removed it.
 * - Per scope: a filter chain seals with keys of its own (see chain-session-scope.ts), so a ticket
 *   one chain issued cannot even be opened by another.
 * Never logged.
 */
let secret = randomBytes(32);
let version = '';

/** The keys for contexts made now (under the config being applied), for one scope (a filter chain's). */
export function sessionTicketKeys(scope = ''): Buffer {
  return createHmac('sha384', secret).update(`bulwark session tickets|${version}|${scope}`).digest();
}

/** Contexts made from now on belong to this config version. */
export function useTicketKeysFor(configVersion: string): void {
  version = configVersion;
}

/** Takes the primary's secret (32 bytes); keys made from now on derive from it. */
export function useTicketKeySecret(shared: Buffer): void {
  if (shared.length !== 32) throw new Error('the session ticket secret must be 32 bytes');
  secret = Buffer.from(shared);
}

/** This process's secret, for the primary to give its workers. */
export function ticketKeySecret(): Buffer {
  return secret;
}
