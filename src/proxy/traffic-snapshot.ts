import type { Counter } from '../telemetry/counter.js';
import { RESPONSE_CLASSES, type TrafficMetrics } from '../telemetry/traffic-metrics.js';
import type { ProxyRuntime } from './proxy-runtime.js';

/** Sets a counter from a total the data path keeps (never lowering it). */
export type MirrorCounter = (counter: Counter, total: number) => void;

/**
 * Copies this process's request and connection counts into the traffic families, when a snapshot is
 * taken. Connection managers that share a statPrefix add up, as Envoy's stats of one prefix do.
 */
export function copyTrafficCounts(m: TrafficMetrics, runtime: ProxyRuntime, mirror: MirrorCounter): void {
  for (const c of runtime.clusters.all()) {
    const name = [c.name];
    const r = c.requestStats;
    mirror(m.upstreamRequests.bind(name), r.total);
    mirror(m.upstreamTimeouts.bind([c.name, 'route']), r.routeTimeouts);
    mirror(m.upstreamTimeouts.bind([c.name, 'per_try']), r.perTryTimeouts);
    for (let status = 100; status < r.byStatus.length; status++) {
      if (r.byStatus[status]! > 0) mirror(m.upstreamResponses.bind([c.name, String(status)]), r.byStatus[status]!);
    }
    // A host's active requests include those waiting for a connection; Envoy counts those apart (pending).
    let assigned = 0;
    for (const h of c.state.hosts) assigned += h.activeRequests;
    m.upstreamRequestsActive.bind(name).set(Math.max(0, assigned - c.stats.pending));
    m.clusterHosts.bind(name).set(c.state.hosts.length);
    m.clusterHealthyHosts.bind(name).set(c.state.stats.healthyHosts);
  }
  const byPrefix = new Map<string, { requests: number; active: number; connections: number; connectionsActive: number; classes: number[]; faults: FaultCounts }>();
  for (const s of runtime.allHttpStats().values()) {
    let sum = byPrefix.get(s.statPrefix);
    if (sum === undefined) {
      sum = { requests: 0, active: 0, connections: 0, connectionsActive: 0, classes: RESPONSE_CLASSES.map(() => 0), faults: { delays: 0, aborts: 0, overflow: 0, active: 0 } };
      byPrefix.set(s.statPrefix, sum);
    }
    sum.requests += s.downstreamRequests;
    sum.active += s.requestsActive;
    sum.connections += s.downstreamConnections;
    sum.connectionsActive += s.downstreamConnectionsActive;
    for (let i = 0; i < RESPONSE_CLASSES.length; i++) sum.classes[i]! += s.responsesByClass[i]!;
    sum.faults.delays += s.faultDelaysInjected;
    sum.faults.aborts += s.faultAbortsInjected;
    sum.faults.overflow += s.faultsOverflow;
    sum.faults.active += s.faultsActive;
  }
  for (const [prefix, sum] of byPrefix) {
    const p = [prefix];
    mirror(m.httpRequests.bind(p), sum.requests);
    m.httpRequestsActive.bind(p).set(sum.active);
    mirror(m.httpConnections.bind(p), sum.connections);
    m.httpConnectionsActive.bind(p).set(sum.connectionsActive);
    RESPONSE_CLASSES.forEach((cls, i) => mirror(m.httpResponses.bind([prefix, cls]), sum.classes[i]!));
    copyFaultCounts(m, p, sum.faults, mirror);
  }
  for (const [name, l] of runtime.allListenerStats()) {
    mirror(m.listenerConnections.bind([name]), l.connectionsAccepted);
    m.listenerConnectionsActive.bind([name]).set(l.connectionsActive);
  }
}

interface FaultCounts {
  delays: number;
  aborts: number;
  overflow: number;
  active: number;
}

/** The fault filter's counts, for the connection managers that have injected a fault (or refused one): the rest show no fault series. */
function copyFaultCounts(m: TrafficMetrics, prefix: string[], f: FaultCounts, mirror: MirrorCounter): void {
  if (f.delays + f.aborts + f.overflow === 0) return;
  mirror(m.faultDelays.bind(prefix), f.delays);
  mirror(m.faultAborts.bind(prefix), f.aborts);
  mirror(m.faultsOverflow.bind(prefix), f.overflow);
  m.faultsActive.bind(prefix).set(f.active);
}
