import type { Address } from './address.js';
import type { Cluster } from './cluster.js';
import type { Listener } from './listener.js';
import type { RouteConfiguration } from './route.js';
import type { Secret } from './tls.js';
import type { WorkerWatchdogConfig } from './watchdog.js';

/** The resources a proxy runs on: the same set whether they come from a file or from xDS. */
export interface ResourceSnapshot {
  listeners: Listener[];
  routeConfigurations: RouteConfiguration[];
  clusters: Cluster[];
  secrets: Secret[];
  /** Bumps on every accepted change; shown in /bulwark/status and as /config_dump's version_info. */
  version: string;
}

export interface Bootstrap {
  node: { id: string; cluster: string };
  admin?: { address: Address };
  /** Named like Envoy's bootstrap default_regex_engine. */
  defaultRegexEngine: string;
  staticResources: ResourceSnapshot;
  workerWatchdog: WorkerWatchdogConfig;
}
