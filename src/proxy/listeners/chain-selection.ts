import type { FilterChainRuntime } from './filter-chain-runtime.js';

/** What is known of a new connection before any filter chain takes it. */
export interface ConnectionFacts {
  /** It opened with a TLS handshake record. */
  tls: boolean;
  /** SNI from the ClientHello, lower-cased. */
  serverName: string | undefined;
  /** ALPN protocols the ClientHello offers. */
  alpn: readonly string[];
}

/**
 * Envoy's filter chain match, in its order: server names (exact, then the longest wildcard, then
 * chains that name none), transport protocol (`tls` or `raw_buffer`, then chains that say neither;
 * a chain that terminates TLS is a `tls` chain), application protocols (any offered, then chains
 * that list none). The first chain left wins; undefined when none is left (the connection is closed).
 */
export function selectChain(chains: readonly FilterChainRuntime[], facts: ConnectionFacts): FilterChainRuntime | undefined {
  let left = byServerName(chains, facts.serverName);
  const transport = facts.tls ? 'tls' : 'raw_buffer';
  left = narrow(left, (c) => transportOf(c) === transport, (c) => transportOf(c) === undefined);
  left = narrow(left, (c) => (c.model.filterChainMatch?.applicationProtocols ?? []).some((p) => facts.alpn.includes(p)), (c) => (c.model.filterChainMatch?.applicationProtocols ?? []).length === 0);
  return left[0];
}

/** True when some chain can only be chosen by looking into a ClientHello (names, protocols) rather than the first byte. */
export function needsClientHello(chains: readonly FilterChainRuntime[]): boolean {
  return chains.some((c) => {
    const m = c.model.filterChainMatch;
    return m !== undefined && (m.applicationProtocols.length > 0 || (!c.isTls && (m.serverNames.length > 0 || m.transportProtocol !== undefined)));
  });
}

function transportOf(c: FilterChainRuntime): 'tls' | 'raw_buffer' | undefined {
  return c.model.filterChainMatch?.transportProtocol ?? (c.isTls ? 'tls' : undefined);
}

function byServerName(chains: readonly FilterChainRuntime[], serverName: string | undefined): FilterChainRuntime[] {
  if (serverName !== undefined) {
    const exact = chains.filter((c) => c.matchesServerName(serverName) === 'exact');
    if (exact.length > 0) return exact;
    let best: FilterChainRuntime[] = [];
    let bestLength = 0;
    for (const c of chains) {
      for (const n of c.model.filterChainMatch?.serverNames ?? []) {
        if (!n.startsWith('*.') || !serverName.endsWith(n.slice(1))) continue;
        if (n.length > bestLength) {
          best = [c];
          bestLength = n.length;
        } else if (n.length === bestLength && !best.includes(c)) best.push(c);
      }
    }
    if (best.length > 0) return best;
  }
  return chains.filter((c) => (c.model.filterChainMatch?.serverNames ?? []).length === 0);
}

/** The chains that pass `specific`; else those that pass `any` (the ones that do not constrain this). */
function narrow(chains: FilterChainRuntime[], specific: (c: FilterChainRuntime) => boolean, any: (c: FilterChainRuntime) => boolean): FilterChainRuntime[] {
  const hit = chains.filter(specific);
  return hit.length > 0 ? hit : chains.filter(any);
}
