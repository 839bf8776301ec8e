/**
 * Which network filter a filter chain names. Envoy finds a filter by the type of its typed_config, not
 * by its name: an HttpConnectionManager config is the connection manager under any name (a v2 name
 * such as envoy.http_connection_manager, or a name of the config's own), and a config of another type
 * is that other filter, refused here even under a supported name rather than read as the one its name
 * says. The name decides only when the config names no type.
 */
import { typedConfigMessage } from './typed-config-type.js';

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';

/** The network filters this proxy runs: the two terminal ones. */
export type NetworkFilterName = typeof HCM_FILTER | typeof TCP_PROXY_FILTER;

/** Each supported network filter by the message its typed config is. */
const BY_MESSAGE = new Map<string, NetworkFilterName>([
  ['envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', HCM_FILTER],
  ['envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', TCP_PROXY_FILTER],
]);

/** The supported filter a config is (`typedConfig` with its '@type', when it has one), or why it cannot load. */
export function networkFilterOf(name: string, typedConfig: Record<string, unknown>): { filter: NetworkFilterName } | { refused: string } {
  const message = typedConfigMessage(typedConfig);
  const known = message === undefined ? (name === HCM_FILTER || name === TCP_PROXY_FILTER ? name : undefined) : BY_MESSAGE.get(message);
  if (known !== undefined) return { filter: known };
  const what = message === undefined ? `"${name}"` : `"${name}" (its typed_config is ${message})`;
  return { refused: `unsupported network filter ${what} (supported: ${HCM_FILTER}, ${TCP_PROXY_FILTER})` };
}
