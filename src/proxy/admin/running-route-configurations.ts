import type { Bootstrap } from '../../model/bootstrap.js';
import type { RouteConfiguration } from '../../model/route.js';

/** A route configuration the proxy runs, with a key that tells apart two of one name (each inline one is its own). */
export interface RunningRouteConfiguration {
  key: string;
  config: RouteConfiguration;
}

/** Those given on their own, then those inline in a listener's HTTP connection manager (Envoy's static route configs). */
export function runningRouteConfigurations(b: Bootstrap): RunningRouteConfiguration[] {
  const out = b.staticResources.routeConfigurations.map((config) => ({ key: config.name, config }));
  for (const l of b.staticResources.listeners) {
    l.filterChains.forEach((fc, chain) => {
      for (const f of fc.filters) {
        if (f.name === 'envoy.filters.network.http_connection_manager' && f.typedConfig.routeConfig) {
          out.push({ key: `${f.typedConfig.routeConfig.name}\0${l.name}\0${chain}`, config: f.typedConfig.routeConfig });
        }
      }
    });
  }
  return out;
}
