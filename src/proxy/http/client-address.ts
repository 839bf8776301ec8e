/**
 * The trusted client address of a request and whether it is internal, by Envoy's rules for
 * x-forwarded-for (HttpConnectionManager.useRemoteAddress and xffNumTrustedHops).
 *
 * The socket's peer is trusted; an x-forwarded-for entry only when a trusted proxy appended it. With
 * useRemoteAddress this proxy is the edge: the peer is the client unless N trusted proxies stand in
 * front, and then the Nth address from the right of the incoming list is. Without it, the proxy that
 * called us appended the last address, so the (N+1)th from the right is the client. Too short a list,
 * or an entry that is not an IP address, falls back to the peer: a header never names a client the
 * rules do not trust.
 */
import { isIP } from 'node:net';

export interface ClientAddress {
  /** The trusted client address (an IP address). */
  address: string;
  /** Envoy's internal origin: decides x-envoy-internal, and whether an incoming x-request-id is kept. */
  internal: boolean;
}

/**
 * Envoy's rule: with useRemoteAddress, internal when no x-forwarded-for came and the peer is an
 * internal address; without it, internal when x-forwarded-for holds a single internal address.
 */
export function clientAddress(peer: string, xff: string | undefined, useRemoteAddress: boolean, trustedHops: number): ClientAddress {
  if (useRemoteAddress) {
    const internal = xff === undefined && peerIsInternal(peer);
    if (trustedHops === 0 || xff === undefined) return { address: peer, internal };
    return { address: fromRight(xff.split(','), trustedHops) ?? peer, internal };
  }
  if (xff === undefined) return { address: peer, internal: false };
  const entries = xff.split(',');
  const internal = entries.length === 1 && isInternalAddress(entries[0]!.trim());
  return { address: fromRight(entries, trustedHops + 1) ?? peer, internal };
}

/** The last peer asked about: a connection's requests share its peer, so the check runs once per peer change. */
let lastPeer = '';
let lastPeerInternal = false;

function peerIsInternal(peer: string): boolean {
  if (peer !== lastPeer) {
    lastPeer = peer;
    lastPeerInternal = isInternalAddress(peer);
  }
  return lastPeerInternal;
}

/** The nth address (1-based) from the right of an x-forwarded-for list's entries, when there is one and it is an IP address. */
function fromRight(entries: readonly string[], n: number): string | undefined {
  if (entries.length < n) return undefined;
  const entry = entries[entries.length - n]!.trim();
  return isIP(entry) !== 0 ? entry : undefined;
}

/**
 * RFC 1918 and loopback IPv4, RFC 4193 unique-local (fd00::/8) and loopback IPv6, as Envoy's
 * default internal address ranges; an IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function isInternalAddress(address: string): boolean {
  let a = address;
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  const family = isIP(a);
  if (family === 4) {
    const [o1, o2] = a.split('.').map(Number) as [number, number];
    return o1 === 10 || o1 === 127 || (o1 === 172 && o2 >= 16 && o2 <= 31) || (o1 === 192 && o2 === 168);
  }
  if (family === 6) {
    const lower = a.toLowerCase();
    return lower === '::1' || /^fd[0-9a-f]{2}:/.test(lower);
  }
  return false;
}
