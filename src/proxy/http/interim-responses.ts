import { connectionTokens, isHopByHop } from './hop-by-hop.js';

/**
 * Interim (1xx) responses forwarded to the client per request. An upstream may send any number
 * before its final response; past this bound the rest are dropped (and counted), so one cannot
 * keep a client busy reading informational heads.
 */
export const MAX_INTERIM_RESPONSES = 16;

/**
 * Whether an upstream's 1xx goes on to the client (RFC 9110 §15.2: a proxy forwards them). Not 100:
 * the proxy answers a client's Expect: 100-continue itself and does not send the expectation on, so
 * an upstream's 100 answers nothing the client asked (RFC 9110 §10.1.1). Not 101: that is the upgrade path.
 */
export function isForwardedInterim(status: number): boolean {
  return status > 101 && status < 200;
}

/** The fields of an interim response as forwarded: without hop-by-hop fields and framing (a 1xx has no content). */
export function interimResponseHeaders(headers: readonly string[]): string[] {
  const tokens = connectionTokens(headers);
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name === 'content-length' || isHopByHop(name, tokens)) continue;
    out.push(name, headers[i + 1]!);
  }
  return out;
}
