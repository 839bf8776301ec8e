import type { Bootstrap } from '../model/bootstrap.js';
import { clusterStatuses } from './admin/cluster-status.js';
import { AdminServer } from './admin/admin-server.js';
import { processMemory } from './admin/memory-usage.js';
import { ConfigUpdateTimes } from './admin/config-update-times.js';
import { drainConnections } from './drain-connections.js';
import { ListenerDrainControl } from './listener-drain-control.js';
import { acceptingListeners, type ListenerDrainState } from './listeners/listener-drain-state.js';
import { ListenerBinder } from './listeners/listener-binder.js';
import { ConfigUpdates } from './config-updates.js';
import { ProxyHost } from './proxy-host.js';
import { proxyLogger, setLogLevels } from './proxy-log.js';
import { keyCustodyHealth } from './tls/key-custody-health.js';
import type { ProxySupervisor } from './proxy-supervisor.js';

const adminLog = proxyLogger('admin');
const configLog = proxyLogger('config');
const custodyLog = proxyLogger('key_custody');
const mainLog = proxyLogger('main');

/** The whole proxy in one process (--concurrency 1): no IPC hop on any path. */
export class SingleProcessProxy implements ProxySupervisor {
  private readonly host: ProxyHost;
  private readonly binder: ListenerBinder;
  /** What /healthcheck/fail and /drain_listeners asked of the listeners. */
  private readonly listenerDrain: ListenerDrainControl;
  private admin: AdminServer | undefined;
  private ready = false;
  private draining = false;
  /** Aborted by endDrain: the drain stops waiting for in-flight requests. */
  private readonly drainCut = new AbortController();
  /** Why the last reload was refused; cleared by one that is applied. */
  private lastReloadError: string | undefined;
  /** When each running resource last changed (/config_dump's last_updated). */
  private readonly updateTimes = new ConfigUpdateTimes();
  /** Config applies and refusals (Envoy's lds/cds update_success and update_rejected). */
  private readonly configUpdates = new ConfigUpdates();

  constructor(
    private bootstrap: Bootstrap,
    allowMemoryKeys: boolean,
    /** --drain-time: how long a drain (SIGTERM, /quitquitquit) waits for what is in flight. */
    private readonly drainMs: number,
    private readonly onExit: (code: number) => void,
  ) {
    this.host = new ProxyHost({
      workerIndex: 0,
      regexEngine: bootstrap.defaultRegexEngine,
      allowMemoryKeys,
      nodeId: bootstrap.node.id,
      nodeCluster: bootstrap.node.cluster,
      healthChecks: true,
    });
    this.binder = new ListenerBinder((name, socket) => this.host.runtime.handleSocket(name, socket));
    this.listenerDrain = new ListenerDrainControl(drainMs, (state) => this.applyListenerDrain(state));
  }

  async start(): Promise<void> {
    const rejection = await this.host.applyRetryingCustody(this.bootstrap.staticResources);
    if (rejection) throw new Error(rejection.error);
    this.configUpdates.count(undefined);
    await this.binder.apply(this.bootstrap.staticResources.listeners);
    this.updateTimes.record(this.bootstrap);
    if (this.bootstrap.admin) {
      this.admin = new AdminServer({
        metrics: async () => this.host.metricsSnapshot(),
        memory: async () => processMemory(),
        clusterStatuses: async () => clusterStatuses(this.host.runtime.clusters.all()),
        runningConfig: () => ({ bootstrap: this.bootstrap, updated: this.updateTimes }),
        status: () => this.status(),
        resources: () => this.bootstrap.staticResources,
        state: () => (this.draining || this.listenerDrain.draining ? 'DRAINING' : this.ready ? 'LIVE' : 'INITIALIZING'),
        lifecycle: () => ({ workersStarted: this.ready, configUpdates: this.configUpdates }),
        node: () => this.bootstrap.node,
        commandLineOptions: { concurrency: 1, drainTimeMs: this.drainMs },
        listenerPorts: () => this.binder.ports(),
        quit: () => void this.shutdown('admin /quitquitquit'),
        setHealthCheckFailed: (failed) => this.listenerDrain.setHealthCheckFailed(failed),
        drainListeners: (req) => this.listenerDrain.drainListeners(req),
        reopenLogs: () => this.reopenLogs(),
        setLogLevels: async (change) => setLogLevels(change),
        resetCounters: async () => {
          this.host.resetCounters();
          this.configUpdates.reset();
        },
      });
      const port = await this.admin.listen(this.bootstrap.admin.address.socketAddress.address, this.bootstrap.admin.address.socketAddress.portValue);
      adminLog('info', 'admin listening', { port });
    }
    this.ready = true;
    keyCustodyHealth.onSessionBroken((failures) =>
      custodyLog('error', 'key custody lost: new TLS handshakes fail closed; a single-process proxy cannot reconnect to keyd (run with --concurrency 2 or more to recover automatically, or restart it)', { failures }),
    );
    mainLog('info', 'proxy ready', { listeners: this.binder.ports(), version: this.host.runtime.version });
  }

  async reload(next: Bootstrap): Promise<string | undefined> {
    const error = await this.applyReload(next);
    this.configUpdates.count(error);
    return error;
  }

  private async applyReload(next: Bootstrap): Promise<string | undefined> {
    const rejection = await this.host.applyRetryingCustody(next.staticResources);
    if (rejection) return (this.lastReloadError = rejection.error);
    try {
      await this.binder.apply(acceptingListeners(this.listenerDrain.current, next.staticResources.listeners));
    } catch (err) {
      // The runtime already took the new version: it goes back, so the refused config does not serve.
      this.host.apply(this.bootstrap.staticResources);
      return (this.lastReloadError = (err as Error).message);
    }
    this.bootstrap = next;
    this.updateTimes.record(next);
    this.lastReloadError = undefined;
    configLog('info', 'config applied', { version: next.staticResources.version });
    return undefined;
  }

  /** Connections read the new state at their next response; listeners it stops close their sockets now. */
  private async applyListenerDrain(state: ListenerDrainState): Promise<void> {
    this.host.runtime.useDrainState(state);
    if (this.draining) return;
    // Only closes sockets (a stopped listener never comes back), so it cannot fail to bind.
    await this.binder.apply(acceptingListeners(state, this.bootstrap.staticResources.listeners)).catch((err: unknown) =>
      mainLog('error', 'stopping listeners failed', { error: (err as Error).message }),
    );
  }

  reloadRejected(error: string): void {
    this.host.proxyMetrics.configReloadsRejected.inc();
    this.configUpdates.count(error);
    this.lastReloadError = error;
  }

  private status(): unknown {
    return {
      version: this.host.runtime.version,
      lastReloadError: this.lastReloadError,
      node: this.bootstrap.node,
      warnings: [...this.host.memoryKeyWarnings].map((w) => `INSECURE: private key in proxy memory for ${w}`),
      workers: 1,
      listenerPorts: this.binder.ports(),
    };
  }

  /** Graceful: stop accepting, let in-flight requests finish (up to drainMs), then exit. */
  reopenLogs(): void {
    this.host.reopenAccessLogs();
  }

  endDrain(why: string): void {
    if (!this.draining || this.drainCut.signal.aborted) return;
    mainLog('warn', 'drain ended early: in-flight requests are cut; exiting now', { reason: why, connections: this.host.runtime.liveConnections() });
    this.drainCut.abort();
  }

  async shutdown(why: string, drainMs = this.drainMs): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    mainLog('info', 'draining', { reason: why });
    this.binder.close();
    await drainConnections(this.host.runtime, drainMs, this.drainCut.signal);
    this.admin?.close();
    this.host.runtime.close();
    // Lines of the last requests are still batched: exiting without writing them loses them.
    await this.host.flushAccessLogs();
    this.onExit(0);
  }
}
