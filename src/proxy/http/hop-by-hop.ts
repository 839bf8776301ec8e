/** Headers that describe one connection, not the message: never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** True for a header a proxy must drop; `connectionTokens` are extra names listed in Connection. */
export function isHopByHop(name: string, connectionTokens: readonly string[] | undefined): boolean {
  return HOP_BY_HOP.has(name) || (connectionTokens !== undefined && connectionTokens.includes(name));
}

/** The header names a Connection header nominates as hop-by-hop, or undefined when it names none. */
export function connectionTokens(headers: readonly string[]): string[] | undefined {
  let out: string[] | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'connection') continue;
    const value = headers[i + 1]!;
    // The usual values name no other header: skip the split (most upstream responses carry one).
    if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') continue;
    for (const raw of value.split(',')) {
      const t = raw.trim().toLowerCase();
      if (t && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade') (out ??= []).push(t);
    }
  }
  return out;
}
