import type { TLSSocket } from 'node:tls';

/**
 * Set on a connection whose filter chain checked its client certificate (trusted CA, SAN matchers) and
 * accepted it. A property rather than a WeakSet: node:http2 hands out a Proxy of the socket, which
 * forwards property reads.
 */
const VERIFIED_PEER = Symbol('bulwark.verifiedPeer');

/** Records that the connection's chain verified its client certificate. */
export function markPeerVerified(socket: TLSSocket): void {
  (socket as TLSSocket & { [VERIFIED_PEER]?: boolean })[VERIFIED_PEER] = true;
}

/**
 * Whether the connection's client certificate is an identity: only one its chain checked and accepted.
 * A certificate nobody checked proves nothing and must not become a principal or an XFCC element.
 */
export function hasVerifiedPeer(socket: TLSSocket): boolean {
  return (socket as TLSSocket & { [VERIFIED_PEER]?: boolean })[VERIFIED_PEER] === true;
}
