import type { Socket } from 'node:net';
import type { Cluster } from '../../model/cluster.js';
import type { Secret } from '../../model/tls.js';
import { H1ConnectionPool, type PoolStats, type TransportConnector } from '../http/h1-connection-pool.js';
import { H2Session } from '../http/h2-upstream-session.js';
import type { KeyPolicy } from '../tls/secure-context-factory.js';
import { ClusterPoolStats } from '../upstream/cluster-pool-stats.js';
import { ClusterRequestStats } from '../upstream/cluster-request-stats.js';
import { ClusterState } from '../upstream/cluster-state.js';
import type { Host } from '../upstream/host.js';
import { PROCESS_LOCAL_COUNTS, type ResourceCounts, type ResourceCountsSource } from '../upstream/resource-counts.js';
import { tcpConnector, tlsConnector } from './transport-connectors.js';
import type { BreakerKind, ClusterLookup, UpstreamCluster, UpstreamOutcome } from './upstream-cluster.js';

/** Keeps a host's connection counters (admin /clusters: cx_active, cx_total) as its pool opens and closes connections. */
function hostConnectionCounter(host: Host): (delta: number) => void {
  return (delta) => {
    host.activeConnections += delta;
    if (delta > 0) host.connectionsTotal += delta;
  };
}

/** A cluster with its host set and policies (ClusterState) plus the connection pools to its hosts. */
class ManagedCluster implements UpstreamCluster {
  readonly http2: boolean;
  readonly stats: PoolStats;
  readonly requestStats = new ClusterRequestStats();
  private readonly h1Pools = new Map<string, H1ConnectionPool>();
  private readonly h2Sessions = new Map<string, H2Session>();
  private connector: TransportConnector;
  readonly state: ClusterState;

  constructor(
    public model: Cluster,
    connector: TransportConnector,
    activeHealthChecks: boolean,
    events: ClusterEvents,
    /** Where the cluster's breakers count (given back to their source when the cluster is removed). */
    readonly counts: ResourceCounts,
  ) {
    this.http2 = model.http2ProtocolOptions !== undefined;
    this.connector = connector;
    this.stats = new ClusterPoolStats(counts);
    this.state = new ClusterState(model, connector, activeHealthChecks, counts);
    this.state.onHealthChange = events.healthChanged;
    this.state.onEjection = (host) => events.ejected(this.name, host);
    this.state.onOutcome = (host, outcome) => events.outcome(this.name, host, outcome);
  }

  get name(): string {
    return this.model.name;
  }

  get tcpReadyEvent(): 'connect' | 'secureConnect' {
    return this.connector.readyEvent;
  }

  /** Takes a new version of the same cluster: hosts and their counters survive, pools of removed hosts close. */
  update(model: Cluster, connector: TransportConnector): void {
    const transportChanged = JSON.stringify(model.transportSocket) !== JSON.stringify(this.model.transportSocket);
    this.model = model;
    this.connector = connector;
    this.state.update(model, connector);
    const live = new Set(this.state.hosts.map((h) => h.key));
    // Kept pools open their next connections with the new connector: a rotated client certificate or
    // trust bundle (file contents, same config) must reach new handshakes.
    for (const [key, pool] of this.h1Pools) {
      if (transportChanged || !live.has(key)) {
        pool.close();
        this.h1Pools.delete(key);
      } else pool.connector = connector;
    }
    for (const [key, session] of this.h2Sessions) {
      if (transportChanged || !live.has(key)) {
        session.close();
        this.h2Sessions.delete(key);
      } else session.connector = connector;
    }
  }

  chooseHost(hashKey: string | undefined): Host | undefined {
    return this.state.chooseHost(hashKey);
  }

  h1Pool(host: Host): H1ConnectionPool {
    let pool = this.h1Pools.get(host.key);
    if (pool === undefined) {
      const m = this.model;
      const t = m.circuitBreakers.thresholds;
      pool = new H1ConnectionPool(
        host.address,
        host.port,
        host.key,
        this.connector,
        {
          connectTimeout: m.connectTimeout,
          idleTimeout: m.commonHttpProtocolOptions.idleTimeout,
          maxRequestsPerConnection: m.commonHttpProtocolOptions.maxRequestsPerConnection,
          maxConnections: t.maxConnections,
          maxPendingRequests: t.maxPendingRequests,
        },
        this.stats,
        hostConnectionCounter(host),
      );
      this.h1Pools.set(host.key, pool);
    }
    return pool;
  }

  h2Session(host: Host): H2Session {
    let s = this.h2Sessions.get(host.key);
    if (s === undefined) {
      const m = this.model;
      const t = m.circuitBreakers.thresholds;
      s = new H2Session(
        host.address,
        host.port,
        this.connector,
        m.connectTimeout,
        t.maxPendingRequests,
        this.stats,
        m.http2ProtocolOptions?.maxConcurrentStreams ?? Infinity,
        t.maxConnections,
        hostConnectionCounter(host),
      );
      this.h2Sessions.set(host.key, s);
    }
    return s;
  }

  /** A TCP proxy connection to `host`, or undefined when the cluster's maxConnections breaker is full (UO). */
  connectTcp(host: Host): Socket | undefined {
    const stats = this.stats;
    if (stats.connectionsAcrossWorkers() >= this.model.circuitBreakers.thresholds.maxConnections) {
      stats.connectionOverflow++;
      return undefined;
    }
    const socket = this.connector.connect(host.address, host.port);
    stats.connectionsActive++;
    stats.connectionsTotal++;
    const count = hostConnectionCounter(host);
    count(1);
    let ready = false;
    socket.once(this.connector.readyEvent, () => (ready = true));
    socket.once('close', () => {
      stats.connectionsActive--;
      if (!ready) stats.connectFailures++;
      count(-1);
    });
    return socket;
  }

  tryAcquire(kind: BreakerKind): boolean {
    return this.state.tryAcquire(kind);
  }

  release(kind: BreakerKind): void {
    this.state.release(kind);
  }

  recordOutcome(host: Host, outcome: UpstreamOutcome): void {
    this.state.recordOutcome(host, outcome);
  }

  countRetry(): void {
    this.state.retriesTotal++;
  }

  countDroppedInterimResponse(): void {
    this.state.interimResponsesDropped++;
  }

  close(): void {
    this.state.close();
    for (const p of this.h1Pools.values()) p.close();
    for (const s of this.h2Sessions.values()) s.close();
    this.h1Pools.clear();
    this.h2Sessions.clear();
  }
}

/** Clusters by name, each with the hosts its active health checks have taken out. */
export type HealthSnapshot = Record<string, string[]>;

/** What a cluster tells its manager: results of this process's own health checks and outlier detection. */
interface ClusterEvents {
  healthChanged(): void;
  ejected(cluster: string, host: Host): void;
  outcome(cluster: string, host: Host, outcome: UpstreamOutcome): void;
}

/** All clusters of the current config; applying a new set keeps unchanged clusters' pools warm. */
export class ClusterManager implements ClusterLookup {
  private clusters = new Map<string, ManagedCluster>();
  /** Whether this process runs active health checks (one worker does, for all of them). */
  private activeHealthChecks = true;
  /** Told when this process's own health checks change a host's health. */
  onHealthChange: (() => void) | undefined;
  /** Told when this process's outlier detection ejects a host. */
  onEjection: ((cluster: string, host: Host) => void) | undefined;
  /** Told of an outcome the other workers' outlier detection should count (set only with workers). */
  onOutcome: ((cluster: string, host: Host, outcome: UpstreamOutcome) => void) | undefined;
  private readonly events: ClusterEvents = {
    healthChanged: () => this.onHealthChange?.(),
    ejected: (cluster, host) => this.onEjection?.(cluster, host),
    outcome: (cluster, host, outcome) => this.onOutcome?.(cluster, host, outcome),
  };

  /** Where clusters count the resources their breakers bound: memory shared with the other workers, when there are any. */
  resourceCounts: ResourceCountsSource = PROCESS_LOCAL_COUNTS;

  constructor(private readonly keyPolicy: KeyPolicy) {}

  /** Makes this process run (or stop running) the clusters' active health checks. */
  setActiveHealthChecks(on: boolean): void {
    this.activeHealthChecks = on;
    for (const c of this.clusters.values()) c.state.setActiveChecks(on);
  }

  get runsHealthChecks(): boolean {
    return this.activeHealthChecks;
  }

  /** What this process's health checks have taken out, for the workers that do not run them. */
  healthSnapshot(): HealthSnapshot {
    const out: HealthSnapshot = {};
    for (const c of this.clusters.values()) if (c.model.healthChecks.length > 0) out[c.name] = c.state.failingHosts();
    return out;
  }

  /** Counts an outcome another worker saw (see ClusterState.applyOutcome). */
  applyOutcome(cluster: string, hostKey: string, outcome: UpstreamOutcome): void {
    this.clusters.get(cluster)?.state.applyOutcome(hostKey, outcome);
  }

  /** Applies an ejection another worker's outlier detection made. */
  applyEjection(cluster: string, hostKey: string, until: number, ejections: number): void {
    this.clusters.get(cluster)?.state.applyEjection(hostKey, until, ejections);
  }

  /** Applies the health-check results of the process that runs the checks. */
  applyHealth(snapshot: HealthSnapshot): void {
    for (const c of this.clusters.values()) c.state.applyHealth(new Set(snapshot[c.name] ?? []));
  }

  get(name: string): ManagedCluster | undefined {
    return this.clusters.get(name);
  }

  all(): ManagedCluster[] {
    return [...this.clusters.values()];
  }

  /** Builds connectors first so a bad TLS setting rejects the whole update before anything changes. */
  apply(models: readonly Cluster[], secrets: readonly Secret[]): void {
    const connectors = new Map<string, TransportConnector>();
    for (const m of models) {
      connectors.set(m.name, m.transportSocket ? tlsConnector(m, secrets, this.keyPolicy, m.http2ProtocolOptions ? ['h2'] : ['http/1.1']) : tcpConnector(m));
    }
    const next = new Map<string, ManagedCluster>();
    for (const m of models) {
      const existing = this.clusters.get(m.name);
      if (existing) {
        existing.update(m, connectors.get(m.name)!);
        next.set(m.name, existing);
      } else next.set(m.name, new ManagedCluster(m, connectors.get(m.name)!, this.activeHealthChecks, this.events, this.resourceCounts.countsFor(m.name)));
    }
    for (const [name, c] of this.clusters) {
      if (next.has(name)) continue;
      c.close();
      this.resourceCounts.release(c.counts);
    }
    this.clusters = next;
  }

  close(): void {
    for (const c of this.clusters.values()) c.close();
    this.clusters.clear();
  }
}
