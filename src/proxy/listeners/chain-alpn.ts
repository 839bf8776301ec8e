import type { HttpConnectionManager } from '../../model/listener.js';
import type { FilterChainRuntime } from './filter-chain-runtime.js';

/** Picks the ALPN protocol for a client's offer; undefined when the chain speaks none of them. */
export type AlpnChooser = (hello: { protocols: string[] }) => string | undefined;

type CodecType = HttpConnectionManager['codecType'];

/** The ALPN names each HTTP codec speaks. */
const CODEC_PROTOCOLS: Record<CodecType, readonly string[]> = { AUTO: ['h2', 'http/1.1'], HTTP1: ['http/1.1'], HTTP2: ['h2'] };

/**
 * The ALPN choice of one TLS filter chain, in the server's order of preference, as Envoy takes
 * alpn_protocols from each chain's own TLS context. A tcp_proxy chain offers its alpnProtocols as
 * listed. An HTTP chain offers its alpnProtocols, or else h2 and http/1.1, but only what its codec
 * speaks: a codecType HTTP1 chain never negotiates h2 (the codec is read per handshake, as a reload
 * may change it). undefined when the chain never offers a protocol.
 */
export function chainAlpnChooser(chain: FilterChainRuntime): AlpnChooser | undefined {
  const listed = chain.model.transportSocket!.commonTlsContext.alpnProtocols;
  const filter = chain.model.filters[0]!;
  if (filter.name !== 'envoy.filters.network.http_connection_manager') return listed.length > 0 ? ({ protocols }) => listed.find((p) => protocols.includes(p)) : undefined;
  const configured = filter.typedConfig.codecType;
  const wanted = listed.length > 0 ? listed : CODEC_PROTOCOLS.AUTO;
  const byCodec = {} as Record<CodecType, string[]>;
  for (const codec of Object.keys(CODEC_PROTOCOLS) as CodecType[]) byCodec[codec] = wanted.filter((p) => CODEC_PROTOCOLS[codec].includes(p));
  if (Object.values(byCodec).every((offered) => offered.length === 0)) return undefined;
  return ({ protocols }) => httpProtocolFor(byCodec[chain.http?.hcm.codecType ?? configured], protocols);
}

/**
 * The chain's first protocol the client asks for. A client that asks only for http/1.0 (curl
 * --http1.0) is served by the HTTP/1.1 codec, as HTTP/1.0 is over plaintext: a plain ALPN list would
 * refuse its handshake.
 */
function httpProtocolFor(offered: readonly string[], protocols: readonly string[]): string | undefined {
  return offered.find((p) => protocols.includes(p)) ?? (offered.includes('http/1.1') && protocols.includes('http/1.0') ? 'http/1.0' : undefined);
}
