/** Small builders for proxy configs in tests; the output is JSON, which YAML loaders accept. */

export function address(port: number, ip = '127.0.0.1'): object {
  return { socketAddress: { address: ip, portValue: port } };
}

export function staticCluster(name: string, ports: number[], extra: Record<string, unknown> = {}): object {
  return {
    name,
    type: 'STATIC',
    connectTimeout: '1s',
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: ports.map((p) => ({ endpoint: { address: address(p) } })) }] },
    ...extra,
  };
}

/**
 * A filter chain's TLS transport socket serving `cert` and `key` files; `common` adds to its
 * commonTlsContext (a validationContext...), `typed` to the DownstreamTlsContext (requireClientCertificate...).
 */
export function tlsTransport(cert: string, key: string, common: Record<string, unknown> = {}, typed: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: { ...typed, commonTlsContext: { tlsCertificates: [{ certificateChain: { filename: cert }, privateKey: { filename: key } }], ...common } },
    },
  };
}

export function httpListener(name: string, port: number, routeConfig: object, hcm: Record<string, unknown> = {}, chain: Record<string, unknown> = {}): object {
  return {
    name,
    address: address(port),
    filterChains: [
      {
        ...chain,
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typedConfig: { statPrefix: name, routeConfig, ...hcm },
          },
        ],
      },
    ],
  };
}

export function routeConfig(routes: object[], domains = ['*']): object {
  return { name: 'routes', virtualHosts: [{ name: 'vh', domains, routes }] };
}

export function bootstrap(listeners: object[], clusters: object[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ node: { id: 'test-proxy', cluster: 'test' }, staticResources: { listeners, clusters, ...extra } }, null, 1);
}

/** One listener on `port` passing WebSocket upgrades to `upstreamPort` (cluster "ws"), logging to `accessLog`. */
export function websocketBootstrap(port: number, upstreamPort: number, accessLog: string): string {
  const routes = routeConfig([{ match: { prefix: '/' }, route: { cluster: 'ws' } }]);
  return bootstrap([httpListener('web', port, routes, { upgradeConfigs: [{ upgradeType: 'websocket' }], accessLog: [{ typedConfig: { path: accessLog } }] })], [staticCluster('ws', [upstreamPort])]);
}
