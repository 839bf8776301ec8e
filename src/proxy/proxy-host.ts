import type { ResourceSnapshot } from '../model/bootstrap.js';
import type { Counter } from '../telemetry/counter.js';
import { MetricsRegistry } from '../telemetry/metrics-registry.js';
import type { MetricsSnapshot } from '../telemetry/metrics-snapshot.js';
import { ProxyMetrics } from '../telemetry/proxy-metrics.js';
import { TrafficMetrics } from '../telemetry/traffic-metrics.js';
import { copyTrafficCounts } from './traffic-snapshot.js';
import { proxyLogger } from './proxy-log.js';
import { ProxyRuntime } from './proxy-runtime.js';
import { StreamTelemetry } from './stream-telemetry.js';
import { isCustodyError, keyCustodyHealth } from './tls/key-custody-health.js';
import type { KeyPolicy } from './tls/secure-context-factory.js';
import type { WorkerSettings } from './workers/worker-messages.js';
import { accessLogPaths, createAccessLog } from './access-log-sink.js';
import { createTracePropagator } from './trace-propagation.js';
import { numberConnectionsForWorker } from './connection-ids.js';
import { MirroredCounters } from './mirrored-counters.js';

const configLog = proxyLogger('config');
const connectionLog = proxyLogger('connection');
const custodyLog = proxyLogger('key_custody');

/** Loads of a config that key custody refused before the refusal is final (about 1.5 s in all). */
const CUSTODY_LOAD_ATTEMPTS = 5;

/** Why a config was refused, and whether it was key custody failing to load a key rather than the config. */
export interface ConfigRejection {
  error: string;
  custody: boolean;
}

/** A ProxyRuntime with its metrics and logs, in this process (a worker, or the only process). */
export class ProxyHost {
  readonly runtime: ProxyRuntime;
  readonly registry: MetricsRegistry;
  readonly proxyMetrics: ProxyMetrics;
  private readonly trafficMetrics: TrafficMetrics;
  readonly memoryKeyWarnings = new Set<string>();
  private readonly telemetry: StreamTelemetry;
  private readonly accessLog: ReturnType<typeof createAccessLog>;
  /** Counters that mirror the data path's own totals. */
  private readonly mirrored = new MirroredCounters();

  constructor(readonly settings: WorkerSettings) {
    this.registry = new MetricsRegistry({ worker: String(settings.workerIndex) });
    numberConnectionsForWorker(settings.workerIndex);
    this.proxyMetrics = new ProxyMetrics(this.registry);
    this.trafficMetrics = new TrafficMetrics(this.registry);
    const keyPolicy: KeyPolicy = {
      allowMemoryKeys: settings.allowMemoryKeys,
      onMemoryKey: (where) => {
        if (!this.memoryKeyWarnings.has(where)) {
          this.memoryKeyWarnings.add(where);
          custodyLog('warn', 'INSECURE: private key held in proxy memory (memory key provider); use keyd custody in production', { where });
        }
      },
    };
    this.accessLog = createAccessLog(this.proxyMetrics);
    this.telemetry = new StreamTelemetry(this.registry, { workload: settings.nodeId, cluster: settings.nodeCluster }, this.accessLog, createTracePropagator());
    this.runtime = new ProxyRuntime(settings.regexEngine, keyPolicy, this.telemetry, connectionLog, (listener, reason) => this.proxyMetrics.listenerTlsFailure(listener, reason));
    this.runtime.clusters.setActiveHealthChecks(settings.healthChecks);
  }

  /** Opens the access log files again by path (after log rotation moved them). */
  reopenAccessLogs(): void {
    this.accessLog.reopen();
  }

  /** Writes out the access log lines still batched (they wait up to the flush interval): for shutdown. */
  flushAccessLogs(): Promise<void> {
    return this.accessLog.close();
  }

  /** Applies a snapshot; on failure the last good config keeps serving and the error is returned. */
  apply(snapshot: ResourceSnapshot): string | undefined {
    try {
      this.applyOrThrow(snapshot);
      return undefined;
    } catch (err) {
      return this.rejected(snapshot, err);
    }
  }

  /**
   * apply(), tried again a few times when only key custody failed to load a key. SoftHSM can fail to
   * open a token that several processes open at the same moment (each proxy process is a p11-kit
   * client of its own: workers starting together, sidecars sharing one keyd), and the same load
   * succeeds a moment later. Any other error is final at once.
   */
  async applyRetryingCustody(snapshot: ResourceSnapshot): Promise<ConfigRejection | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.applyOrThrow(snapshot);
        return undefined;
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        // isCustodyError reads OpenSSL's own errors only: the key's config (a memory key refused, a pkcs11 field missing) is final.
        const custody = isCustodyError(msg);
        if (attempt >= CUSTODY_LOAD_ATTEMPTS || !custody) return { error: this.rejected(snapshot, err), custody };
        custodyLog('warn', 'key custody failed to load a key; trying again', { version: snapshot.version, attempt, error: msg });
        // Jittered, so processes that collided do not collide again.
        await new Promise((r) => setTimeout(r, (50 << attempt) * (0.5 + Math.random())));
      }
    }
  }

  private applyOrThrow(snapshot: ResourceSnapshot): void {
    this.runtime.apply(snapshot);
    this.accessLog.use(accessLogPaths(snapshot));
    const clusters = new Set(snapshot.clusters.map((c) => c.name));
    this.proxyMetrics.keepClusters(clusters);
    this.trafficMetrics.keepClusters(clusters);
    this.proxyMetrics.configReloadsAccepted.inc();
  }

  private rejected(snapshot: ResourceSnapshot, err: unknown): string {
    this.proxyMetrics.configReloadsRejected.inc();
    const msg = err instanceof Error ? err.message : String(err);
    configLog('error', 'config rejected; keeping the last good version', { version: snapshot.version, error: msg });
    return msg;
  }

  /** Copies live data-path counters into gauges, then snapshots every family. */
  metricsSnapshot(): MetricsSnapshot {
    this.mirrorDataPath();
    return this.registry.snapshot();
  }

  /** /reset_counters: every counter from zero; those mirrored from the data path count on from its totals now. */
  resetCounters(): void {
    this.mirrorDataPath();
    this.registry.resetCounters();
    this.mirrored.restartFromLastTotals();
  }

  /** The data path keeps its own totals and live figures: the registry's counters and gauges take them. */
  private mirrorDataPath(): void {
    const mirror = (counter: Counter, total: number): void => this.mirrored.mirror(counter, total);
    let active = 0;
    let accepted = 0;
    for (const l of this.runtime.allListenerStats().values()) {
      active += l.connectionsActive;
      accepted += l.connectionsAccepted;
    }
    this.proxyMetrics.downstreamConnectionsActive.set(active);
    this.proxyMetrics.keydAvailable.set(keyCustodyHealth.available ? 1 : 0);
    mirror(this.proxyMetrics.keydSigningFailures, keyCustodyHealth.failures);
    mirror(this.proxyMetrics.downstreamConnectionsTotal, accepted);
    for (const c of this.runtime.clusters.all()) {
      const m = this.proxyMetrics.cluster(c.name);
      m.connectionsActive.set(c.stats.connectionsActive);
      m.pendingRequests.set(c.stats.pending);
      mirror(m.connectionsTotal, c.stats.connectionsTotal);
      mirror(m.connectFailures, c.stats.connectFailures);
      mirror(m.overflows.pending_requests, c.stats.pendingOverflow);
      mirror(m.overflows.connections, c.stats.connectionOverflow);
      const state = c.state.stats;
      mirror(m.overflows.requests, state.overflows.requests);
      mirror(m.overflows.retries, state.overflows.retries);
      mirror(m.retries, state.retries);
      mirror(m.interimResponsesDropped, state.interimResponsesDropped);
      mirror(m.outlierEjections, state.ejectionsTotal);
      m.outlierEjectedHosts.set(state.ejectedNow);
    }
    copyTrafficCounts(this.trafficMetrics, this.runtime, mirror);
    this.mirrored.endRound();
  }
}
