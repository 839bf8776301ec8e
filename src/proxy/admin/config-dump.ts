/**
 * Envoy's envoy.admin.v3.ConfigDump of the running config: one message per config tracker, in the
 * order Envoy lists them (its trackers sorted by name: bootstrap, clusters, endpoint with
 * ?include_eds, listeners, routes, secrets). Every resource comes from the bootstrap file, so each
 * is a static one; the dynamic lists stay empty (and proto3 JSON leaves them out).
 */
import type { Bootstrap } from '../../model/bootstrap.js';
import type { ConfigUpdateTimes } from './config-update-times.js';
import { runningRouteConfigurations } from './running-route-configurations.js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE, CLUSTER_TYPE, envoyBootstrap, envoyCluster, envoyClusterLoadAssignment, envoyListener,
  envoyRouteConfiguration, envoySecret, LISTENER_TYPE, ROUTE_CONFIGURATION_TYPE, SECRET_TYPE,
} from './envoy-resources.js';

type Json = Record<string, unknown>;

/** One tracker's message, with what a field mask and ?resource= need to know of its proto. */
export interface DumpMessage {
  /** The message's full type name (without the type URL's prefix). */
  type: string;
  /** Its proto fields, by name: a repeated field names its entries' message type and that message's fields. */
  fields: ReadonlyMap<string, DumpField>;
  /** Proto3 JSON of the message, without its '@type'. */
  body: Json;
}

export interface DumpField {
  repeatedOf?: string;
  entryFields?: ReadonlySet<string>;
}

/** What the dump is built from. */
export interface RunningConfig {
  bootstrap: Bootstrap;
  updated: ConfigUpdateTimes;
}

/** A resource name filter (?name_regex=). */
export type NameMatcher = (name: string) => boolean;

function fields(entries: Array<[string, string?, string[]?]>): Map<string, DumpField> {
  return new Map(entries.map(([name, repeatedOf, entryFields]) => [name, repeatedOf === undefined ? {} : { repeatedOf, entryFields: new Set(entryFields) }]));
}

/** The fields of a dynamic entry (ClustersConfigDump.DynamicCluster and its like). */
const DYNAMIC = ['version_info', 'last_updated', 'error_state', 'client_status'];

/** The dump's messages in Envoy's order; resources whose names `matches` refuses are left out, as Envoy's trackers leave them. */
export function configDumpMessages(config: RunningConfig, matches: NameMatcher, includeEds: boolean): DumpMessage[] {
  const { bootstrap, updated } = config;
  const r = bootstrap.staticResources;
  const version = r.version;
  const clusters = r.clusters.filter((c) => matches(c.name));
  const messages: DumpMessage[] = [
    {
      type: 'envoy.admin.v3.BootstrapConfigDump',
      fields: fields([['bootstrap'], ['last_updated']]),
      body: { bootstrap: envoyBootstrap(bootstrap), last_updated: updated.lastUpdated('bootstrap') },
    },
    {
      type: 'envoy.admin.v3.ClustersConfigDump',
      fields: fields([['version_info'], ['static_clusters', 'ClustersConfigDump.StaticCluster', ['cluster', 'last_updated']], ['dynamic_active_clusters', 'ClustersConfigDump.DynamicCluster', ['cluster', ...DYNAMIC]], ['dynamic_warming_clusters', 'ClustersConfigDump.DynamicCluster', ['cluster', ...DYNAMIC]]]),
      body: {
        version_info: version,
        static_clusters: clusters.map((c) => ({ cluster: { '@type': CLUSTER_TYPE, ...envoyCluster(c) }, last_updated: updated.lastUpdated('cluster', c.name) })),
      },
    },
  ];
  if (includeEds && r.clusters.length > 0) {
    messages.push({
      type: 'envoy.admin.v3.EndpointsConfigDump',
      fields: fields([['static_endpoint_configs', 'EndpointsConfigDump.StaticEndpointConfig', ['endpoint_config', 'last_updated']], ['dynamic_endpoint_configs', 'EndpointsConfigDump.DynamicEndpointConfig', ['endpoint_config', ...DYNAMIC]]]),
      body: {
        static_endpoint_configs: r.clusters
          .map((c): Json => ({ '@type': CLUSTER_LOAD_ASSIGNMENT_TYPE, ...envoyClusterLoadAssignment(c) }))
          .filter((cla) => matches(String(cla.cluster_name)))
          .map((cla) => ({ endpoint_config: cla })),
      },
    });
  }
  messages.push(
    {
      type: 'envoy.admin.v3.ListenersConfigDump',
      fields: fields([['version_info'], ['static_listeners', 'ListenersConfigDump.StaticListener', ['listener', 'last_updated']], ['dynamic_listeners', 'ListenersConfigDump.DynamicListener', ['name', 'active_state', 'warming_state', 'draining_state', 'error_state', 'client_status']]]),
      body: {
        version_info: version,
        static_listeners: r.listeners.filter((l) => matches(l.name)).map((l) => ({ listener: { '@type': LISTENER_TYPE, ...envoyListener(l) }, last_updated: updated.lastUpdated('listener', l.name) })),
      },
    },
    {
      type: 'envoy.admin.v3.RoutesConfigDump',
      fields: fields([['static_route_configs', 'RoutesConfigDump.StaticRouteConfig', ['route_config', 'last_updated']], ['dynamic_route_configs', 'RoutesConfigDump.DynamicRouteConfig', ['route_config', ...DYNAMIC]]]),
      body: {
        static_route_configs: runningRouteConfigurations(bootstrap)
          .filter((rc) => matches(rc.config.name))
          .map((rc) => ({ route_config: { '@type': ROUTE_CONFIGURATION_TYPE, ...envoyRouteConfiguration(rc.config) }, last_updated: updated.lastUpdated('route', rc.key) })),
      },
    },
    {
      type: 'envoy.admin.v3.SecretsConfigDump',
      fields: fields([['static_secrets', 'SecretsConfigDump.StaticSecret', ['name', 'last_updated', 'secret']], ['dynamic_active_secrets', 'SecretsConfigDump.DynamicSecret', ['name', 'secret', ...DYNAMIC]], ['dynamic_warming_secrets', 'SecretsConfigDump.DynamicSecret', ['name', 'secret', ...DYNAMIC]]]),
      body: {
        static_secrets: r.secrets.filter((s) => matches(s.name)).map((s) => ({ name: s.name, last_updated: updated.lastUpdated('secret', s.name), secret: { '@type': SECRET_TYPE, ...envoySecret(s) } })),
      },
    },
  );
  for (const m of messages) dropEmptyLists(m.body);
  return messages;
}

/** proto3 JSON prints no empty repeated field. */
function dropEmptyLists(body: Json): void {
  for (const [k, v] of Object.entries(body)) if (Array.isArray(v) && v.length === 0) delete body[k];
}

/** A message packed into an Any: its type URL first. */
export function packed(type: string, body: Json): Json {
  return { '@type': `type.googleapis.com/${type}`, ...body };
}
