/**
 * Which HTTP filters a config may name. A filter this proxy does not run must not load as if it ran:
 * an RBAC or JWT filter that is read and then ignored would leave a policy silently unenforced.
 *
 * - The router is the proxy itself.
 * - Istio's telemetry and metadata filters (metadata exchange, stats, gRPC stats, ALPN override)
 *   stand for work this proxy does on its own (Istio metrics, gRPC status, ALPN), so they load.
 * - The fault filter runs (fault-reader.ts reads its config, at the filter level and per route).
 * - Istio always adds the CORS filter with an empty config; the CORS policy comes per route or virtual
 *   host (typedPerFilterConfig, see cors-policy-reader.ts).
 * - Everything else is refused by name: authorization (rbac, ext_authz), authentication (jwt_authn),
 *   rate limits, Lua, Wasm, compression, ...
 */
import { typedConfigMessage } from './typed-config-type.js';

const BUILT_IN = new Set([
  'envoy.filters.http.router',
  'istio.metadata_exchange',
  'istio.stats',
  'istio.alpn',
  'envoy.filters.http.grpc_stats',
]);

/** Present only as an empty placeholder in Istio's configs: refused when configured. */
const EMPTY_ONLY = new Set(['envoy.filters.http.cors']);

const FAULT_FILTER = 'envoy.filters.http.fault';

/** Envoy's filters by the message their typed config is: Envoy finds a filter by its config's type, not its name. */
const BY_MESSAGE = new Map([
  ['envoy.extensions.filters.http.router.v3.Router', 'envoy.filters.http.router'],
  ['envoy.extensions.filters.http.fault.v3.HTTPFault', 'envoy.filters.http.fault'],
  ['envoy.extensions.filters.http.cors.v3.Cors', 'envoy.filters.http.cors'],
  ['envoy.extensions.filters.http.grpc_stats.v3.FilterConfig', 'envoy.filters.http.grpc_stats'],
]);

/** The messages Istio's own telemetry and metadata filters are configured with (Wasm is not among them: its code would not run). */
const ISTIO_MESSAGE = /^(istio\.|io\.istio\.|stats\.|envoy\.tcp\.metadataexchange\.)/;

/**
 * Which filter this is. By its config's type when it names one, as Envoy looks filters up: a router's
 * name over an RBAC config is RBAC, and must be refused as RBAC rather than load as the router with
 * its policy unenforced. By name when the config names no type.
 */
function filterIdentity(name: string, message: string | undefined): string {
  if (message === undefined) return name;
  const known = BY_MESSAGE.get(message);
  if (known !== undefined) return known;
  if (name.startsWith('istio.') && ISTIO_MESSAGE.test(message)) return name;
  return message;
}

/** Which of Envoy's filters this is (as filterIdentity decides), e.g. 'envoy.filters.http.cors'. */
export function httpFilterIdentity(name: string, typedConfig: Record<string, unknown>): string {
  return filterIdentity(name, typedConfigMessage(typedConfig));
}

/** Why the named filter cannot load, or undefined when it can. `typedConfig` is the filter's config, '@type' included. */
export function refusedHttpFilter(name: string, typedConfig: Record<string, unknown>): string | undefined {
  const message = typedConfigMessage(typedConfig);
  const identity = filterIdentity(name, message);
  const what = identity === name ? name : `${name} (its typed_config is ${message})`;
  if (BUILT_IN.has(identity) || identity === FAULT_FILTER) return undefined;
  if (EMPTY_ONLY.has(identity)) {
    const configured = Object.keys(typedConfig).some((k) => k !== '@type');
    return configured ? `${what} with a configuration is not supported: its policy would not be applied` : undefined;
  }
  return `HTTP filter ${what} is not supported: what it enforces would not be enforced`;
}

/** Why a route's per-filter config cannot load: every one would configure a filter this proxy does not run. */
export function refusedPerFilterConfig(name: string): string {
  return `per-route config for ${name} is not supported: it would not be applied`;
}

/** The named filter is the fault filter (by its config's type, else by name), whose config fault-reader.ts reads. */
export function isFaultFilter(name: string, typedConfig: Record<string, unknown>): boolean {
  return filterIdentity(name, typedConfigMessage(typedConfig)) === FAULT_FILTER;
}
