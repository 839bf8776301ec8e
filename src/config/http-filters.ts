/**
 * Which HTTP filters a config may name. A filter this proxy does not run must not load as if it ran:
 * an RBAC or JWT filter that is read and then ignored would leave a policy silently unenforced.
 *
 * - The router is the proxy itself.
 * - Istio's telemetry and metadata filters (metadata exchange, stats, gRPC stats, ALPN override)
 *   stand for work this proxy does on its own (Istio metrics, gRPC status, ALPN), so they load.
 * - Istio always adds the fault and CORS filters with an empty config; the policy itself would come
 *   per route (typedPerFilterConfig), which is refused. Empty, they change nothing and load.
 * - Everything else is refused by name: authorization (rbac, ext_authz), authentication (jwt_authn),
 *   rate limits, Lua, Wasm, compression, ...
 */
const BUILT_IN = new Set([
  'envoy.filters.http.router',
  'istio.metadata_exchange',
  'istio.stats',
  'istio.alpn',
  'envoy.filters.http.grpc_stats',
]);

/** Present only as an empty placeholder in Istio's configs: refused when configured. */
const EMPTY_ONLY = new Set(['envoy.filters.http.fault', 'envoy.filters.http.cors']);

/** Why the named filter cannot load, or undefined when it can. `typedConfig` is the filter's config, '@type' included. */
export function refusedHttpFilter(name: string, typedConfig: Record<string, unknown>): string | undefined {
  if (BUILT_IN.has(name)) return undefined;
  if (EMPTY_ONLY.has(name)) {
    const configured = Object.keys(typedConfig).some((k) => k !== '@type');
    return configured ? `${name} with a configuration is not supported: its policy would not be applied` : undefined;
  }
  return `HTTP filter ${name} is not supported: what it enforces would not be enforced`;
}

/** Why a route's per-filter config cannot load: every one would configure a filter this proxy does not run. */
export function refusedPerFilterConfig(name: string): string {
  return `per-route config for ${name} is not supported: it would not be applied`;
}
