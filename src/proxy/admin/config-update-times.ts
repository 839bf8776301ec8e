/**
 * When each running resource last changed, for /config_dump's last_updated. A reload that leaves a
 * resource as it was keeps its time, as Envoy keeps a cluster's when an update does not touch it.
 */
import type { Bootstrap } from '../../model/bootstrap.js';
import { timestampText } from './envoy-json.js';
import { runningRouteConfigurations } from './running-route-configurations.js';

export type ResourceKind = 'bootstrap' | 'cluster' | 'listener' | 'route' | 'secret';

export class ConfigUpdateTimes {
  private times = new Map<string, { text: string; atMs: number }>();

  /** Notes the bootstrap that now runs, applied at `nowMs`. */
  record(bootstrap: Bootstrap, nowMs = Date.now()): void {
    const next = new Map<string, { text: string; atMs: number }>();
    const note = (kind: ResourceKind, name: string, resource: unknown): void => {
      const key = `${kind}\0${name}`;
      const text = JSON.stringify(resource);
      const before = this.times.get(key);
      next.set(key, { text, atMs: before?.text === text ? before.atMs : nowMs });
    };
    const r = bootstrap.staticResources;
    note('bootstrap', '', { ...bootstrap, staticResources: { ...r, version: undefined } });
    for (const c of r.clusters) note('cluster', c.name, c);
    for (const l of r.listeners) note('listener', l.name, l);
    for (const rc of runningRouteConfigurations(bootstrap)) note('route', rc.key, rc.config);
    for (const s of r.secrets) note('secret', s.name, s);
    this.times = next;
  }

  /** The RFC 3339 time `kind` `name` last changed (a route configuration by its RunningRouteConfiguration key); the bootstrap's when not recorded. */
  lastUpdated(kind: ResourceKind, name = ''): string {
    const at = this.times.get(`${kind}\0${name}`) ?? this.times.get('bootstrap\0');
    return timestampText(at?.atMs ?? Date.now());
  }
}
