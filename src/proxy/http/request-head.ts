import type { TLSSocket } from 'node:tls';
import type { ConnectionEndpoints } from '../connection-endpoints.js';

/**
 * A request as the router sees it, whatever the downstream codec (HTTP/1.1 or HTTP/2).
 * Headers are a flat array [name, value, name, value, ...] with lower-case names and no
 * pseudo-headers: cheap to build from a parser and cheap to scan for the few lookups a route needs.
 */
export interface RequestHead {
  method: string;
  /** The request target as received: path plus optional "?query". */
  path: string;
  /** Host header / :authority, lower-cased, possibly with ":port". */
  authority: string;
  scheme: 'http' | 'https';
  headers: string[];
  /** The downstream peer's IP, for hash policies on the source address. */
  remoteAddress: string;
  /** The downstream TLS connection, when there is one: its client certificate feeds x-forwarded-client-cert. */
  downstreamTls?: TLSSocket;
  /** The downstream connection's addresses and SNI, for the access log (one object per connection). */
  endpoints?: ConnectionEndpoints;
}

/** Returns the first value of a lower-case header name, or undefined. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}
