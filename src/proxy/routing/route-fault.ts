import type { HttpFault } from '../../model/fault.js';
import type { HttpConnectionManager } from '../../model/listener.js';
import type { Route, RouteConfiguration, VirtualHost } from '../../model/route.js';
import { CompiledFault } from '../filters/compiled-fault.js';
import type { RegexEngine } from './regex-engine.js';

/** The fault filter a connection manager runs: its name, which per-route configs are keyed by, and its own config. */
export interface FaultFilterSetting {
  name: string;
  fault: HttpFault;
}

/** The connection manager's fault filter, if its http_filters have one. */
export function faultFilterOf(hcm: HttpConnectionManager): FaultFilterSetting | undefined {
  const f = hcm.httpFilters.find((h) => h.fault !== undefined);
  return f === undefined ? undefined : { name: f.name, fault: f.fault! };
}

/**
 * The key of a route table compiled for connection managers with this fault filter: its faults are
 * compiled onto its routes, so managers with other fault filters (or none) need a table of their own.
 */
export function routeTableKey(routeConfigName: string, filter: FaultFilterSetting | undefined): string {
  return filter === undefined ? routeConfigName : `${routeConfigName}\0${filter.name}\0${JSON.stringify(filter.fault)}`;
}

/**
 * The fault a route runs, as Envoy resolves it: the most specific per-filter config under the filter's
 * name (route, then virtual host, then route configuration) replaces the filter's own. Undefined when
 * there is nothing to inject, or the fault names an upstream cluster the route never sends to.
 */
export function routeFault(filter: FaultFilterSetting | undefined, filterLevel: CompiledFault | undefined, route: Route, vh: VirtualHost, rc: RouteConfiguration, engine: RegexEngine): CompiledFault | undefined {
  if (filter === undefined) return undefined;
  const own = [route.fault, vh.fault, rc.fault].find((f) => f !== undefined && f.filterName === filter.name);
  const compiled = own === undefined ? filterLevel : CompiledFault.of(own.fault, engine);
  const cluster = compiled?.upstreamCluster;
  if (cluster !== undefined && route.route?.weightedClusters === undefined && route.route?.cluster !== cluster) return undefined;
  return compiled;
}
