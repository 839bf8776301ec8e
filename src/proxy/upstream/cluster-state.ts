import type { Cluster } from '../../model/cluster.js';
import type { BreakerKind, UpstreamOutcome } from '../clusters/upstream-cluster.js';
import type { TransportConnector } from '../http/h1-connection-pool.js';
import { proxyLogger } from '../proxy-log.js';
import { CircuitBreakers } from './circuit-breakers.js';
import { HealthChecker } from './health-checker.js';
import { Host } from './host.js';
import { processLocalCounts, type ResourceCounts } from './resource-counts.js';
import type { LoadBalancer } from './load-balancer.js';
import { createLoadBalancer } from './load-balancer-registry.js';
import { countEjected, OutlierDetector } from './outlier-detector.js';

const upstreamLog = proxyLogger('upstream');

/**
 * A cluster's hosts and the policies over them: which hosts may be chosen (health checks, outlier
 * ejection, panic threshold), the load balancer that chooses, and the circuit breakers. The candidate
 * set is recomputed only when something changes, so choosing a host allocates nothing.
 */
export class ClusterState {
  hosts: Host[] = [];
  private model: Cluster;
  private balancer: LoadBalancer;
  private outlier: OutlierDetector | undefined;
  private healthChecker: HealthChecker | undefined;
  private readonly breakers: CircuitBreakers;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Set when health or ejection changed; the next choice recomputes candidates. */
  private dirty = true;
  private membershipChanged = true;
  /** The earliest time an ejected host returns, when candidates must be recomputed. */
  private nextReturn = Infinity;
  private panicking = false;
  /** Retries sent to the cluster, for metrics. */
  retriesTotal = 0;
  /** Interim (1xx) responses from the cluster dropped past the per-request bound, for metrics. */
  interimResponsesDropped = 0;

  /** Set for a change of active health-check results (this process's own checks). */
  onHealthChange: (() => void) | undefined;
  /** Set for an ejection this process's outlier detection made, so the other workers can apply it. */
  onEjection: ((host: Host) => void) | undefined;
  /** Told of an outcome the other workers should count (with workers only). */
  onOutcome: ((host: Host, outcome: UpstreamOutcome) => void) | undefined;
  private connector: TransportConnector | undefined;

  constructor(
    model: Cluster,
    connector?: TransportConnector,
    /**
     * Whether this process runs the cluster's active health checks. A worker that does not takes the
     * results from the one that does (applyHealth), so N workers do not probe every host N times.
     */
    private activeChecks = true,
    /** The cluster's resource counts, shared with the other workers when there are any. */
    counts: ResourceCounts = processLocalCounts(),
  ) {
    this.model = model;
    this.balancer = createLoadBalancer(model);
    this.breakers = new CircuitBreakers(model.circuitBreakers.thresholds, counts);
    this.update(model, connector);
  }

  /** Takes a new version of the cluster; hosts that stay keep their counters and health. */
  update(model: Cluster, connector?: TransportConnector): void {
    this.connector = connector;
    if (model.lbPolicy !== this.model.lbPolicy) this.balancer = createLoadBalancer(model);
    this.model = model;
    this.breakers.update(model.circuitBreakers.thresholds);
    const old = new Map(this.hosts.map((h) => [h.key, h]));
    const next: Host[] = [];
    for (const locality of model.loadAssignment?.endpoints ?? []) {
      for (const e of locality.lbEndpoints) {
        const s = e.endpoint.address.socketAddress;
        const key = `${s.address}:${s.portValue}`;
        if (next.some((h) => h.key === key)) continue;
        const host = old.get(key) ?? new Host(s.address, s.portValue, key, e.loadBalancingWeight);
        host.weight = e.loadBalancingWeight;
        host.edsHealth = e.healthStatus;
        host.priority = locality.priority;
        host.hostname = e.endpoint.hostname ?? (model.type === 'STRICT_DNS' || model.type === 'LOGICAL_DNS' ? s.address : '');
        next.push(host);
      }
    }
    this.hosts = next;
    this.configureOutlier(model);
    this.configureHealthChecks(model, connector);
    this.membershipChanged = true;
    this.dirty = true;
  }

  /** Chooses a host for a request; undefined when none may be used (503, no healthy upstream). */
  chooseHost(hashKey: string | undefined): Host | undefined {
    if (this.dirty || Date.now() >= this.nextReturn) this.recompute();
    return this.balancer.choose(hashKey);
  }

  recordOutcome(host: Host, outcome: UpstreamOutcome): void {
    countOutcome(host, outcome);
    if (!this.outlier) return;
    const now = Date.now();
    // Other workers count this outcome too (onOutcome), so consecutive failures add up across all of
    // them as in Envoy, where the workers share one count: every failure, and a success only when it
    // breaks a run of failures. A healthy host costs nothing.
    if (this.onOutcome !== undefined && (typeof outcome !== 'number' || outcome >= 500 || host.consecutive5xx > 0 || host.consecutiveGatewayFailure > 0 || host.consecutiveLocalOriginFailure > 0)) {
      this.onOutcome(host, outcome);
    }
    if (this.outlier.record(host, outcome, this.hosts, now)) {
      upstreamLog('warn', 'upstream host ejected by outlier detection', { cluster: this.model.name, host: host.key, ejectionMs: host.ejectedUntil - now, ejections: host.ejectionCount });
      this.dirty = true;
      this.onEjection?.(host);
    }
  }

  /**
   * Applies an ejection another worker's outlier detection made (until: epoch ms), within this
   * cluster's maxEjectionPercent. Envoy detects outliers once for all its workers; here each worker
   * detects on its own traffic and shares what it ejects, so a bad host leaves every worker at once.
   */
  /** Counts an outcome another worker saw towards this worker's consecutive counts (it ejects there, not here). */
  applyOutcome(hostKey: string, outcome: UpstreamOutcome): void {
    const host = this.outlier ? this.hosts.find((h) => h.key === hostKey) : undefined;
    if (host) this.outlier!.record(host, outcome, this.hosts, Date.now(), false);
  }

  applyEjection(hostKey: string, until: number, ejections: number): void {
    const outlier = this.outlier;
    if (!outlier) return;
    const now = Date.now();
    const host = this.hosts.find((h) => h.key === hostKey);
    if (!host || until <= now || host.ejectedUntil >= until) return;
    if (host.ejectedUntil <= now && !outlier.mayEject(this.hosts, now)) return;
    host.ejectedUntil = until;
    host.ejectionCount = Math.max(host.ejectionCount, ejections);
    host.consecutive5xx = 0;
    host.consecutiveGatewayFailure = 0;
    host.consecutiveLocalOriginFailure = 0;
    this.dirty = true;
  }

  /** Starts or stops running this cluster's active health checks here. */
  setActiveChecks(on: boolean): void {
    if (on === this.activeChecks) return;
    this.activeChecks = on;
    this.configureHealthChecks(this.model, this.connector);
  }

  /** Hosts this process's active health checks have taken out, by key. */
  failingHosts(): string[] {
    return this.hosts.filter((h) => h.failedActiveHealthCheck).map((h) => h.key);
  }

  /** Takes active health-check results from the process that runs the checks (ignored while running them here). */
  applyHealth(failing: ReadonlySet<string>): void {
    if (this.activeChecks || this.model.healthChecks.length === 0) return;
    for (const h of this.hosts) {
      const failed = failing.has(h.key);
      if (failed !== h.failedActiveHealthCheck) {
        h.failedActiveHealthCheck = failed;
        this.dirty = true;
      }
    }
  }

  tryAcquire(kind: BreakerKind): boolean {
    return this.breakers.tryAcquire(kind);
  }

  release(kind: BreakerKind): void {
    this.breakers.release(kind);
  }

  /** Numbers for metrics. */
  get stats(): { ejectionsTotal: number; ejectedNow: number; healthyHosts: number; panic: boolean; overflows: Readonly<Record<BreakerKind, number>>; retries: number; interimResponsesDropped: number } {
    return {
      ejectionsTotal: this.outlier?.ejectionsTotal ?? 0,
      ejectedNow: countEjected(this.hosts, Date.now()),
      healthyHosts: this.hosts.filter((h) => h.healthy).length,
      panic: this.panicking,
      overflows: this.breakers.overflows,
      retries: this.retriesTotal,
      interimResponsesDropped: this.interimResponsesDropped,
    };
  }

  close(): void {
    this.healthChecker?.close();
    this.healthChecker = undefined;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private recompute(): void {
    const now = Date.now();
    let nextReturn = Infinity;
    let candidates: Host[] = [];
    let level = Infinity;
    for (const h of this.hosts) {
      const ejected = h.ejectedUntil > now;
      if (ejected && h.ejectedUntil < nextReturn) nextReturn = h.ejectedUntil;
      h.selectable = h.healthy && !ejected;
      if (h.selectable) {
        candidates.push(h);
        if (h.priority < level) level = h.priority;
      }
    }
    // Locality failover (Envoy's priority levels, as Istio writes them): the lowest level with a
    // usable host takes all the traffic; the next one only when none is left there. (Envoy spills
    // over gradually once a level is below ~72% healthy; this takes the whole step at 0%.)
    const usable = candidates.length;
    if (candidates.some((h) => h.priority !== level)) {
      candidates = candidates.filter((h) => h.priority === level);
      for (const h of this.hosts) if (h.priority !== level) h.selectable = false;
    }
    // Envoy's panic mode: when too few hosts are usable, spreading over all beats overloading the few.
    const threshold = this.model.healthyPanicThreshold;
    const panic = this.hosts.length > 0 && threshold > 0 && (usable * 100) / this.hosts.length < threshold;
    if (panic !== this.panicking) {
      upstreamLog('warn', panic ? 'cluster in panic: too few healthy hosts, balancing over all' : 'cluster left panic', { cluster: this.model.name, healthy: usable, hosts: this.hosts.length });
      this.panicking = panic;
    }
    if (panic) for (const h of this.hosts) h.selectable = true;
    this.balancer.refresh(this.hosts, panic ? this.hosts : candidates, this.membershipChanged);
    this.membershipChanged = false;
    this.nextReturn = nextReturn;
    this.dirty = false;
  }

  private configureOutlier(model: Cluster): void {
    const od = model.outlierDetection;
    if (!od) {
      this.outlier = undefined;
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      for (const h of this.hosts) h.ejectedUntil = 0;
      return;
    }
    const intervalChanged = this.outlier?.interval !== od.interval;
    if (this.outlier) this.outlier.update(od);
    else this.outlier = new OutlierDetector(od);
    if (intervalChanged) {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = setInterval(() => this.outlier?.sweep(this.hosts, Date.now()), od.interval);
      this.sweepTimer.unref();
    }
  }

  private configureHealthChecks(model: Cluster, connector: TransportConnector | undefined): void {
    const check = model.healthChecks[0];
    if (!check || !connector || !this.activeChecks) {
      this.healthChecker?.close();
      this.healthChecker = undefined;
      // Checks run elsewhere: their results arrive through applyHealth and stand until the next ones.
      if (!check || !connector) for (const h of this.hosts) h.failedActiveHealthCheck = false;
      return;
    }
    if (this.healthChecker) this.healthChecker.update(model, check, connector);
    else
      this.healthChecker = new HealthChecker(model, check, connector, () => {
        this.dirty = true;
        this.onHealthChange?.();
      });
    this.healthChecker.setHosts(this.hosts);
  }
}

/** Envoy's host counters (rq_total, rq_success, rq_error, rq_timeout, cx_connect_fail) for one attempt's outcome. */
function countOutcome(host: Host, outcome: UpstreamOutcome): void {
  if (typeof outcome === 'number') {
    if (outcome < 500) host.requestsSucceeded++;
    else host.requestErrors++;
    return;
  }
  host.requestErrors++;
  if (outcome === 'timeout') host.requestTimeouts++;
  else if (outcome === 'connect-failure') host.connectFailures++;
}
