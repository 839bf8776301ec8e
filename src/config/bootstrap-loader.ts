import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { Bootstrap, ResourceSnapshot } from '../model/bootstrap.js';
import type { Listener } from '../model/listener.js';
import type { RouteConfiguration } from '../model/route.js';
import { DEFAULT_WORKER_WATCHDOG } from '../model/watchdog.js';
import { regexEngineNames } from '../proxy/routing/regex-engine-registry.js';
import { ConfigError } from './config-error.js';
import { ConfigErrors } from './config-errors.js';
import { parseBootstrapDocument } from './bootstrap-document.js';
import { readCluster } from './cluster-reader.js';
import { FieldReader } from './field-reader.js';
import { readAddress, readListener } from './listener-reader.js';
import { HCM_FILTER } from './network-filters.js';
import { readRouteConfiguration } from './route-reader.js';
import { readSecret } from './tls-reader.js';
import { decodeUtf8 } from './utf8-text.js';
import { readWorkerWatchdog } from './watchdog-reader.js';

/** Reads and validates a static bootstrap file (Envoy's bootstrap shape, camelCase or snake_case names, YAML or JSON). */
export function loadBootstrapFile(file: string): Bootstrap {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    // The file as a whole: there is no resource or field to name yet.
    throw new ConfigErrors([new ConfigError(file, '(file)', 'read', (err as Error).message)]);
  }
  const decoded = decodeUtf8(bytes);
  if ('line' in decoded) throw new ConfigErrors([new ConfigError(file, '(file)', `line ${decoded.line}`, `is not UTF-8 text (an invalid byte at column ${decoded.column})`)]);
  return parseBootstrap(decoded.text, file);
}

/** Parses bootstrap text; throws ConfigErrors listing every invalid resource. */
export function parseBootstrap(text: string, file: string): Bootstrap {
  const document = parseBootstrapDocument(text, file);
  const errors: ConfigError[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigError) errors.push(err);
      else throw err;
      return undefined;
    }
  };

  const root = attempt(() => FieldReader.of(document, file, 'bootstrap', ''));
  if (!root) throw new ConfigErrors(errors);
  const rejected = new Set<string>();
  const bootstrap = attempt(() => readRoot(root, file, attempt, rejected));
  // References to resources that were themselves invalid are not reported twice.
  if (bootstrap) for (const e of crossCheck(bootstrap.staticResources, file, rejected)) errors.push(e);
  if (errors.length > 0 || !bootstrap) throw new ConfigErrors(errors);
  return bootstrap;
}


type Attempt = <T>(fn: () => T) => T | undefined;

function readRoot(root: FieldReader, file: string, attempt: Attempt, rejected: Set<string>): Bootstrap {
  const node = root.optObj('node');
  const admin = root.optObj('admin');
  const statics = root.optObj('staticResources') ?? FieldReader.of({}, file, 'staticResources', 'staticResources');
  const each = <T>(key: string, kind: string, read: (r: FieldReader) => T): T[] => {
    const raw = statics.raw(key);
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) statics.fail(key, 'expected a list');
    const out: T[] = [];
    (raw as unknown[]).forEach((item, i) => {
      const named = (item as { name?: unknown } | null)?.name;
      const name = typeof named === 'string' && named !== '' ? named : `#${i}`;
      const res = attempt(() => read(FieldReader.of(item, file, `${kind} "${name}"`, '')));
      if (res !== undefined) out.push(res);
      else rejected.add(`${kind}:${name}`);
    });
    return out;
  };
  const snapshot: ResourceSnapshot = {
    listeners: each('listeners', 'listener', readListener),
    clusters: each('clusters', 'cluster', readCluster),
    secrets: each('secrets', 'secret', readSecret),
    routeConfigurations: each('routeConfigurations', 'routeConfiguration', readRouteConfiguration),
    version: 'static-1',
  };
  statics.done();
  const bootstrap: Bootstrap = {
    node: { id: node?.optStr('id') ?? 'bulwark', cluster: node?.optStr('cluster') ?? 'bulwark' },
    defaultRegexEngine: readRegexEngineName(root),
    staticResources: snapshot,
    workerWatchdog: attempt(() => readWorkerWatchdog(root)) ?? DEFAULT_WORKER_WATCHDOG,
  };
  node?.ignore('metadata', 'locality');
  node?.done();
  if (admin) {
    bootstrap.admin = { address: readAddress(admin.obj('address')) };
    // The admin server's own access log is not kept.
    admin.ignore('accessLog', 'accessLogPath', 'profilePath');
    admin.done();
  }
  readIgnoredRootFields(root);
  root.done();
  return bootstrap;
}

/** Checked here: every process builds its engine when it starts, and an unknown one would crash each worker. */
function readRegexEngineName(root: FieldReader): string {
  const name = root.optStr('defaultRegexEngine') ?? 're2';
  if (!regexEngineNames().includes(name)) root.fail('defaultRegexEngine', `unknown regex engine "${name}" (known: ${regexEngineNames().join(', ')})`);
  return name;
}

/**
 * Bootstrap fields that tune machinery this proxy does not have, accepted so Envoy bootstraps load as
 * written (docs/envoy-compatibility.md): the runtime, stats tags and sinks (metrics are served on the
 * admin port) and the overload manager (no heap-based load shedding here: connection
 * and request limits come from listeners and circuit breakers). In clusterManager only the outlier
 * event log and the local cluster name (zone-aware routing, which this proxy does not do) are
 * ignored; upstreamBindConfig would change the source address of upstream connections and is refused.
 */
function readIgnoredRootFields(root: FieldReader): void {
  root.ignore('layeredRuntime', 'statsConfig', 'statsSinks', 'statsFlushInterval', 'statsFlushOnAdmin', 'overloadManager', 'enableDispatcherStats');
  const cm = root.optObj('clusterManager');
  if (cm) {
    cm.ignore('outlierDetection', 'localClusterName');
    cm.done();
  }
}

/** Checks references between resources: names unique, clusters, routes and secrets that exist. */
export function crossCheck(s: ResourceSnapshot, file: string, rejected: ReadonlySet<string> = new Set()): ConfigError[] {
  const errors: ConfigError[] = [];
  const unique = (kind: string, names: string[]) => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) errors.push(new ConfigError(file, `${kind} "${n}"`, 'name', 'is not unique'));
      seen.add(n);
    }
  };
  unique('listener', s.listeners.map((l) => l.name));
  unique('cluster', s.clusters.map((c) => c.name));
  unique('secret', s.secrets.map((x) => x.name));
  unique('routeConfiguration', s.routeConfigurations.map((r) => r.name));

  const clusters = new Set(s.clusters.map((c) => c.name));
  const secrets = new Set(s.secrets.map((x) => x.name));
  for (const r of rejected) {
    if (r.startsWith('cluster:')) clusters.add(r.slice(8));
    if (r.startsWith('secret:')) secrets.add(r.slice(7));
  }
  const routes = new Map(s.routeConfigurations.map((r) => [r.name, r]));
  for (const r of rejected) if (r.startsWith('routeConfiguration:')) routes.set(r.slice(19), undefined as never);
  const binds = new Map<string, string>();
  for (const rc of s.routeConfigurations) errors.push(...checkRouteClusters(rc, clusters, file, `routeConfiguration "${rc.name}"`, ''));
  for (const l of s.listeners) {
    const where = `listener "${l.name}"`;
    const bind = `${canonicalIp(l.address.socketAddress.address)}:${l.address.socketAddress.portValue}`;
    if (l.address.socketAddress.portValue !== 0) {
      const other = binds.get(bind);
      if (other) errors.push(new ConfigError(file, where, 'address', `${bind} is already used by listener "${other}"`));
      binds.set(bind, l.name);
    }
    l.filterChains.forEach((chain, i) => {
      const f = chain.filters[0]!;
      const at = `filterChains[${i}]`;
      for (const sds of chain.transportSocket?.commonTlsContext.tlsCertificateSdsSecretConfigs ?? []) {
        if (!secrets.has(sds.name)) errors.push(new ConfigError(file, where, `${at}.transportSocket`, `secret "${sds.name}" is not defined`));
      }
      if (f.name === HCM_FILTER) {
        const hcm = f.typedConfig;
        if (hcm.rds && !routes.has(hcm.rds.routeConfigName)) {
          errors.push(new ConfigError(file, where, `${at}.filters[0].typedConfig.rds.routeConfigName`, `route configuration "${hcm.rds.routeConfigName}" is not defined`));
        }
        if (hcm.routeConfig) errors.push(...checkRouteClusters(hcm.routeConfig, clusters, file, where, `${at}.filters[0].typedConfig.routeConfig.`));
      } else if (f.typedConfig.weightedClusters) {
        f.typedConfig.weightedClusters.forEach((c, j) => {
          if (!clusters.has(c.name)) errors.push(new ConfigError(file, where, `${at}.filters[0].typedConfig.weightedClusters.clusters[${j}].name`, `cluster "${c.name}" is not defined`));
        });
      } else if (!clusters.has(f.typedConfig.cluster)) {
        errors.push(new ConfigError(file, where, `${at}.filters[0].typedConfig.cluster`, `cluster "${f.typedConfig.cluster}" is not defined`));
      }
    });
    errors.push(...checkChainsDistinct(l, file));
  }
  return errors;
}

/** One spelling per address, so "::1" and "0:0:0:0:0:0:0:1" are seen as the one address they are (a zone, "%eth0", kept as written). */
function canonicalIp(address: string): string {
  if (!isIPv6(address)) return address;
  const zone = address.indexOf('%');
  const ip = zone < 0 ? address : address.slice(0, zone);
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1) + (zone < 0 ? '' : address.slice(zone));
}

function checkRouteClusters(rc: RouteConfiguration, clusters: Set<string>, file: string, where: string, prefix: string): ConfigError[] {
  const errors: ConfigError[] = [];
  rc.virtualHosts.forEach((vh, v) =>
    vh.routes.forEach((route, r) => {
      const names = route.route?.cluster ? [route.route.cluster] : (route.route?.weightedClusters?.clusters.map((c) => c.name) ?? []);
      for (const n of names) {
        if (!clusters.has(n)) errors.push(new ConfigError(file, where, `${prefix}virtualHosts[${v}].routes[${r}].route`, `cluster "${n}" is not defined`));
      }
    }),
  );
  return errors;
}

function checkChainsDistinct(l: Listener, file: string): ConfigError[] {
  const keys = new Set<string>();
  const errors: ConfigError[] = [];
  l.filterChains.forEach((c, i) => {
    const m = c.filterChainMatch;
    const key = JSON.stringify([m?.serverNames ?? [], m?.transportProtocol ?? '', m?.applicationProtocols ?? []]);
    if (keys.has(key)) errors.push(new ConfigError(file, `listener "${l.name}"`, `filterChains[${i}].filterChainMatch`, 'duplicates the match of an earlier chain'));
    keys.add(key);
  });
  return errors;
}
