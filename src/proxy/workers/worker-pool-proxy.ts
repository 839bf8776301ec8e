import cluster, { type Worker } from 'node:cluster';
import { ticketKeySecret } from '../tls/session-ticket-keys.js';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Bootstrap } from '../../model/bootstrap.js';
import type { MetricsSnapshot } from '../../telemetry/metrics-snapshot.js';
import { CounterHistory } from '../../telemetry/counter-history.js';
import { WorkerPoolMetrics, type WorkerReplacementReason } from '../../telemetry/worker-pool-metrics.js';
import { CLUSTER_LABEL } from '../../telemetry/proxy-metrics.js';
import { AdminServer } from '../admin/admin-server.js';
import { mergeClusterStatuses, type ClusterStatus } from '../admin/cluster-status.js';
import { addMemory, processMemory, type MemoryFigures } from '../admin/memory-usage.js';
import type { HealthSnapshot } from '../clusters/cluster-manager.js';
import { ConfigUpdateTimes } from '../admin/config-update-times.js';
import { unbindableAddress } from '../listeners/address-probe.js';
import { ListenerBinder } from '../listeners/listener-binder.js';
import { acceptingListeners, type ListenerDrainState } from '../listeners/listener-drain-state.js';
import { ListenerDrainControl } from '../listener-drain-control.js';
import { logLevels, proxyLogger, setLogLevels, type LoggerName, type LogLevel } from '../proxy-log.js';
import { AckRounds } from './worker-ack-rounds.js';
import { ConfigUpdates } from '../config-updates.js';
import { CustodyRecovery, keydSocketPath } from './custody-recovery.js';
import { KeyLoadReplacements } from './key-load-replacements.js';
import type { ProxySupervisor } from '../proxy-supervisor.js';
import { createBalancer } from './balancer-registry.js';
import type { ConnectionBalancer, WorkerLoad } from './connection-balancer.js';
import { WorkerWatchdog, type WatchdogEvents, type WatchedWorker } from './worker-watchdog.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-messages.js';
import { clusterSlotsFrom, ResourceTableOwner } from './shared-resource-table.js';
import type { ResourceSnapshot } from '../../model/bootstrap.js';
import type { Listener } from '../../model/listener.js';

const adminLog = proxyLogger('admin');
const configLog = proxyLogger('config');
const hcLog = proxyLogger('hc');
const custodyLog = proxyLogger('key_custody');
const mainLog = proxyLogger('main');
const upstreamLog = proxyLogger('upstream');

interface WorkerSlot extends WorkerLoad, WatchedWorker {
  worker: Worker;
  /** The worker said it listens for messages; anything sent earlier could be lost. */
  listening: boolean;
  /** It was sent its first config (workers take their first config one at a time). */
  configured: boolean;
  /** Ends its turn at the first config, once it answered (or exited). */
  endFirstConfigTurn: (() => void) | undefined;
  /** The config version it serves: '' until it applied its first. */
  version: string;
  lastError: string | undefined;
  /** Where its own listeners are bound, as it reported with its last applied config. */
  ports: Record<string, number>;
  /**
   * Sockets handed to it whose message is not written yet (by listener): node queues a handle until
   * the previous one is acknowledged, and forgets the queue if the worker dies.
   */
  handing: Map<Socket, string>;
  /** The worker's metrics at its last report: kept by the counter history when it exits. */
  lastSnapshot: MetricsSnapshot | undefined;
  /** Its row of the shared breaker counts; undefined without one. */
  row: number | undefined;
}

const STATS_TIMEOUT_MS = 2_000;
/** The longest an admin call that changes every worker (/logging, /reset_counters) waits for their acknowledgements. */
const WORKER_ACK_MS = 2_000;
/** The longest an admin call that changes the listeners' state waits for the workers to take it. */
const LISTENER_DRAIN_ACK_MS = 2_000;

/** A worker's answer to 'stats': its metrics and its view of the clusters. */
interface WorkerReport {
  snapshot: MetricsSnapshot;
  /** Present when asked for. */
  clusters: ClusterStatus[] | undefined;
  memory: MemoryFigures;
}
const RESTART_BACKOFF_MS = 500;
/** The longest a worker's first config holds up the next worker's. */
const FIRST_CONFIG_TURN_MS = 5_000;
/** How long workers get to send their final GOAWAYs and exit once a drain is ended early. */
const END_DRAIN_GRACE_MS = 2_000;

/**
 * The primary of a multi-process proxy: forks N workers (node:cluster), sends each config snapshot to
 * all of them, accepts connections for listeners whose ConnectionBalancer works in the primary and
 * hands each socket to the worker it picks, restarts workers that die, and serves the admin API.
 */
export class WorkerPoolProxy implements ProxySupervisor {
  private readonly slots: WorkerSlot[] = [];
  private readonly balancers = new Map<string, ConnectionBalancer>();
  private readonly binder: ListenerBinder;
  private admin: AdminServer | undefined;
  private draining = false;
  /** What /healthcheck/fail and /drain_listeners asked of the listeners: kept here, applied in every worker. */
  private readonly listenerDrain: ListenerDrainControl;
  private listenerDrainSeq = 0;
  /** Workers yet to take each 'listener-drain' state, by its id. */
  private readonly listenerDrainWaiters = new Map<number, { want: number; done: () => void }>();
  /** start() waits for every worker's first config: a worker that dies before serving one fails the start. */
  private starting = true;
  /**
   * The config every worker is to run: ahead of `bootstrap` while a reload is being applied (a worker
   * that starts meanwhile gets it). `bootstrap` changes only once every worker took it, so /bulwark/status
   * and /config_dump never name a version some worker does not serve yet.
   */
  private target: Bootstrap;
  /** Set by endDrain: the drain stops waiting for in-flight requests. */
  private readonly drainCut = new AbortController();
  /** Why the last reload was refused; cleared by one that is applied. */
  private lastReloadError: string | undefined;
  /** When each running resource last changed (/config_dump's last_updated). */
  private readonly updateTimes = new ConfigUpdateTimes();
  /** Config applies and refusals (Envoy's lds/cds update_success and update_rejected). */
  private readonly configUpdates = new ConfigUpdates();
  /** Every worker served its first config (Envoy's workers_started, which never goes back). */
  private workersStarted = false;
  private statsSeq = 0;
  /** Orders every worker acknowledges (/logging, /reset_counters). */
  private readonly acks = new AckRounds();
  /** Bumped by /reset_counters: worker reports asked for before it are not served after it. */
  private resetEpoch = 0;
  /** The round of worker reports under way, by whether it asks for the cluster views. */
  private readonly reportRounds = new Map<boolean, Promise<WorkerReport[]>>();
  private readonly statsWaiters = new Map<number, { want: number; got: WorkerReport[]; done: (s: WorkerReport[]) => void }>();
  /** What exited workers counted, so the merged counters never go backwards (telemetry/counter-history.ts). */
  private readonly counters = new CounterHistory();
  /** Workers being replaced on purpose (keyd recovery, a refused key load): their exit is expected. */
  private readonly plannedExits = new Set<Worker>();
  /** How long a replaced slot waits before its fresh process, when not RESTART_BACKOFF_MS. */
  private readonly restartDelays = new Map<number, number>();
  private readonly keyLoads = new KeyLoadReplacements();
  private readonly poolMetrics = new WorkerPoolMetrics();
  private readonly watchdog: WorkerWatchdog;
  private readonly custody: CustodyRecovery | undefined = ((path) =>
    path ? new CustodyRecovery(path, { replaceWorkers: () => this.replaceWorkers(), replaceWorker: (index) => this.replaceWorker(index, 'custody_session') }) : undefined)(keydSocketPath());
  private readonly pendingApply = new Map<string, { want: number; errors: string[]; done: (errors: string[]) => void }>();
  /** The worker that runs the active health checks; the others apply its results (Envoy checks once, not per worker). */
  private healthCheckerIndex = 0;
  /** Its latest results, for workers that start or restart later. */
  private lastHealth: HealthSnapshot = {};
  /** Workers take their first config one after another (sendFirstConfig). */
  private firstConfigTurn = Promise.resolve();
  /** The workers' shared circuit-breaker counts; undefined where memory cannot be shared (each worker then counts alone). */
  private readonly resourceTable: ResourceTableOwner | undefined;

  constructor(
    private bootstrap: Bootstrap,
    private readonly concurrency: number,
    private readonly allowMemoryKeys: boolean,
    /** --drain-time: how long a drain (SIGTERM, /quitquitquit) waits for what is in flight. */
    private readonly drainMs: number,
    private readonly onExit: (code: number) => void,
  ) {
    this.binder = new ListenerBinder((name, socket) => this.distribute(name, socket), true);
    this.target = bootstrap;
    this.listenerDrain = new ListenerDrainControl(drainMs, (state) => this.applyListenerDrain(state));
    this.watchdog = new WorkerWatchdog(() => this.slots, this.watchdogEvents(), bootstrap.workerWatchdog);
    this.resourceTable = ResourceTableOwner.create(concurrency, clusterSlotsFrom(process.env));
    if (this.resourceTable === undefined) {
      upstreamLog('warn', 'circuit breaker limits are counted per worker: the shared-memory addon is not built (scripts/build-native.sh)', { workers: concurrency });
    }
  }

  async start(): Promise<void> {
    // Workers listening on the same address share one socket and the kernel spreads connections (balancer "none").
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const here = fileURLToPath(import.meta.url);
    cluster.setupPrimary({ exec: here.replace(/worker-pool-proxy\.(ts|js)$/, 'worker-main.$1'), silent: false });
    for (let i = 0; i < this.concurrency; i++) this.fork(i);
    const errors = await this.applyEverywhere(this.bootstrap);
    this.starting = false;
    if (errors.length > 0) throw new Error(errors[0]);
    this.workersStarted = true;
    this.configUpdates.count(undefined);
    await this.bindBalanced(this.bootstrap);
    this.updateTimes.record(this.bootstrap);
    if (this.bootstrap.admin) {
      this.admin = new AdminServer({
        metrics: () => this.metrics(),
        memory: async () => addMemory([processMemory(), ...(await this.workerReports(false)).map((r) => r.memory)]),
        clusterStatuses: () => this.clusterStatuses(),
        runningConfig: () => ({ bootstrap: this.bootstrap, updated: this.updateTimes }),
        status: () => this.status(),
        resources: () => this.bootstrap.staticResources,
        // Envoy's LIVE: started and not draining. A reload does not unready it, nor does one worker
        // restarting while another serves (the kernel and the balancers skip the one that is down).
        state: () => (this.draining || this.listenerDrain.draining ? 'DRAINING' : this.slots.some((s) => s.ready) ? 'LIVE' : 'INITIALIZING'),
        lifecycle: () => ({ workersStarted: this.workersStarted, configUpdates: this.configUpdates }),
        node: () => this.bootstrap.node,
        commandLineOptions: { concurrency: this.concurrency, drainTimeMs: this.drainMs },
        listenerPorts: () => this.listenerPorts(),
        quit: () => void this.shutdown('admin /quitquitquit'),
        setHealthCheckFailed: (failed) => this.listenerDrain.setHealthCheckFailed(failed),
        drainListeners: (req) => this.listenerDrain.drainListeners(req),
        reopenLogs: () => this.reopenLogs(),
        setLogLevels: (change) => this.setLogLevels(change),
        resetCounters: () => this.resetCounters(),
      });
      const a = this.bootstrap.admin.address.socketAddress;
      const port = await this.admin.listen(a.address, a.portValue);
      adminLog('info', 'admin listening', { port });
    }
    mainLog('info', 'proxy ready', { workers: this.concurrency, version: this.bootstrap.staticResources.version });
  }

  private fork(index: number): void {
    const settings: WorkerSettings = {
      workerIndex: index,
      regexEngine: this.bootstrap.defaultRegexEngine,
      allowMemoryKeys: this.allowMemoryKeys,
      nodeId: this.bootstrap.node.id,
      nodeCluster: this.bootstrap.node.cluster,
      healthChecks: index === this.healthCheckerIndex,
      resourceTable: this.resourceTable?.claimRow(),
    };
    const worker = cluster.fork({ BULWARK_WORKER_SETTINGS: JSON.stringify(settings) });
    const slot: WorkerSlot = { index, worker, listening: false, configured: false, endFirstConfigTurn: undefined, ready: false, responsive: true, lastHeardMs: performance.now(), activeConnections: 0, outstandingRequests: 0, version: '', lastError: undefined, ports: {}, handing: new Map(), lastSnapshot: undefined, row: settings.resourceTable?.row };
    this.slots[index] = slot;
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    // Gone (killed, crashed): balancers stop picking it now, not only once its exit is reaped.
    worker.on('disconnect', () => (slot.ready = false));
    // A message to a worker that died before its channel closed here fails with EPIPE. Unhandled, that
    // error would end the primary (admin API, balanced listeners, every other worker); its exit follows.
    worker.on('error', (err) => {
      slot.ready = false;
      mainLog('warn', 'message to a worker failed: it is gone', { worker: index, pid: worker.process.pid, error: err.message });
    });
    worker.on('exit', (code, signal) => {
      slot.ready = false;
      // A stalled worker that was killed is stalled no more; its replacement starts afresh.
      if (!slot.responsive) this.poolMetrics.workerStalled(index, false);
      slot.endFirstConfigTurn?.();
      if (settings.resourceTable) {
        this.resourceTable?.releaseRow(settings.resourceTable.row);
        // A late answer from it must not speak for the row's next worker.
        slot.row = undefined;
        this.reclaimClusterSlots();
      }
      // Connections it never got: another worker takes them (none read a byte of them yet).
      const orphans = [...slot.handing];
      slot.handing.clear();
      for (const [socket, listener] of orphans) {
        slot.activeConnections--;
        if (this.draining) socket.destroy();
        else this.distribute(listener, socket);
      }
      this.counters.retire(slot.lastSnapshot);
      slot.lastSnapshot = undefined;
      const planned = this.plannedExits.delete(worker);
      if (this.draining) return;
      // A worker that cannot start would only crash again when restarted: the start fails now, saying why.
      if (!planned && this.starting && slot.version === '' && this.failStart(`worker ${index} (pid ${worker.process.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`} before it was ready`)) return;
      if (index === this.healthCheckerIndex) this.moveHealthChecks();
      if (planned) mainLog('info', 'worker replaced', { worker: index });
      else mainLog('error', 'worker exited; restarting', { worker: index, code, signal });
      const delayMs = this.restartDelays.get(index) ?? RESTART_BACKOFF_MS;
      this.restartDelays.delete(index);
      setTimeout(() => {
        if (!this.draining) this.fork(index);
      }, delayMs);
    });
  }

  private onMessage(slot: WorkerSlot, msg: FromWorker): void {
    this.watchdog.heard(slot);
    switch (msg.type) {
      case 'alive':
        return;
      case 'ready':
        slot.listening = true;
        // Before the config, whose TLS contexts seal tickets with keys from it: every worker opens every worker's tickets.
        this.send(slot, { type: 'ticket-keys', secret: ticketKeySecret().toString('base64') });
        // Before the config too: a worker that starts after /drain_listeners binds no stopped listener.
        this.send(slot, { type: 'listener-drain', id: 0, state: this.listenerDrain.current });
        this.send(slot, { type: 'log-levels', id: 0, levels: logLevels() });
        this.firstConfigTurn = this.firstConfigTurn.then(() => this.sendFirstConfig(slot));
        return;
      case 'applied':
      case 'rejected': {
        if (slot.row !== undefined && this.resourceTable) {
          this.resourceTable.answered(slot.row, msg.heldSlots);
          this.reclaimClusterSlots();
        }
        slot.endFirstConfigTurn?.();
        // Its replacement answers for it (start() and a reload wait for that answer instead).
        if (msg.type === 'rejected' && msg.custody && slot.version === '' && this.replaceUnloadedWorker(slot, msg.error)) return;
        if (msg.type === 'applied') {
          this.keyLoads.succeeded(slot.index);
          slot.version = msg.version;
          slot.ports = msg.ports;
          slot.ready = true;
          slot.lastError = undefined;
          if (slot.index !== this.healthCheckerIndex) this.send(slot, { type: 'health', snapshot: this.lastHealth });
        } else slot.lastError = msg.error;
        const p = this.pendingApply.get(msg.version);
        if (p) {
          if (msg.type === 'rejected') p.errors.push(`worker ${slot.index}: ${msg.error}`);
          if (--p.want === 0) {
            this.pendingApply.delete(msg.version);
            p.done(p.errors);
          }
        }
        return;
      }
      case 'stats': {
        slot.outstandingRequests = msg.outstanding;
        slot.lastSnapshot = msg.snapshot;
        const w = this.statsWaiters.get(msg.id);
        if (w) {
          w.got.push({ snapshot: msg.snapshot, clusters: msg.clusters, memory: msg.memory });
          if (w.got.length === w.want) {
            this.statsWaiters.delete(msg.id);
            w.done(w.got);
          }
        }
        return;
      }
      case 'load':
        slot.outstandingRequests = msg.outstanding;
        slot.activeConnections = Math.max(0, slot.activeConnections - msg.closedConnections);
        return;
      case 'health':
        if (slot.index !== this.healthCheckerIndex) return;
        this.lastHealth = msg.snapshot;
        this.sendToOthers(slot, { type: 'health', snapshot: msg.snapshot });
        return;
      case 'ejection':
      case 'outcome':
        this.sendToOthers(slot, msg);
        return;
      case 'drained':
        slot.lastSnapshot = msg.snapshot;
        return;
      case 'acknowledged':
        this.acks.acknowledged(msg.id);
        return;
      case 'listener-drain-applied': {
        const w = this.listenerDrainWaiters.get(msg.id);
        if (w && --w.want === 0) w.done();
        return;
      }
      case 'custody-failure':
        if (this.custody) void this.custody.failure(slot.index);
        return;
      case 'custody-broken':
        if (this.custody) void this.custody.sessionBroken(slot.index, msg.failures);
        else custodyLog('error', 'key custody lost and no keyd socket is configured; handshakes fail closed', { worker: slot.index, failures: msg.failures });
        return;
    }
  }

  /**
   * The health-check worker is gone: another running worker takes the checks over at once (its hosts
   * keep the last results until its own probes say otherwise). With none running, the replacement
   * for this slot runs them when it starts.
   */
  private moveHealthChecks(): void {
    const next = this.slots.find((s) => s.index !== this.healthCheckerIndex && s.ready && s.worker.isConnected());
    if (next === undefined) return;
    this.healthCheckerIndex = next.index;
    this.send(next, { type: 'health-role' });
    hcLog('info', 'active health checks moved to another worker', { worker: next.index });
  }

  /**
   * A worker that never served refused its first config because key custody would not load a key,
   * even after its own retries: a fresh process (fresh engine, fresh keyd connection) takes its place,
   * a bounded number of times with back-off. False when those are spent: the refusal then stands.
   */
  private replaceUnloadedWorker(slot: WorkerSlot, error: string): boolean {
    if (this.draining) return false;
    const next = this.keyLoads.next(slot.index);
    if (next === undefined) {
      custodyLog('error', 'worker cannot load its keys through keyd, also from fresh processes: giving up, it serves nothing', { worker: slot.index, error });
      return false;
    }
    slot.lastError = error;
    custodyLog('warn', 'worker cannot load its keys through keyd; replacing it with a fresh process', { worker: slot.index, attempt: next.attempt, backoffMs: next.backoffMs, error });
    this.poolMetrics.workerReplaced('key_load');
    this.restartDelays.set(slot.index, next.backoffMs);
    this.plannedExits.add(slot.worker);
    // It bound no listener and holds no connection: its drain is immediate.
    this.send(slot, { type: 'drain', ms: 1_000 });
    return true;
  }

  /** What the watchdog's findings do: logs and metrics, and a kill past the kill timeout. */
  private watchdogEvents(): WatchdogEvents {
    return {
      stalled: (w, silentMs) => {
        this.poolMetrics.workerStalled(w.index, true);
        mainLog('error', 'worker event loop stalled: its connections wait, and new ones go to other workers where the primary balances', {
          worker: w.index,
          pid: this.slots[w.index]?.worker.process.pid,
          silentMs: Math.round(silentMs),
        });
      },
      resumed: (w, stalledMs) => {
        this.poolMetrics.workerStalled(w.index, false);
        mainLog('warn', 'worker event loop runs again', { worker: w.index, stalledMs: Math.round(stalledMs) });
      },
      killDue: (w, silentMs) => this.killStalledWorker(w.index, silentMs),
    };
  }

  /**
   * Kills a worker whose event loop has been silent past the watchdog's kill timeout: it cannot drain
   * (its loop does not run), and its connections get nothing from it. A fresh process takes its slot.
   */
  private killStalledWorker(index: number, silentMs: number): void {
    const slot = this.slots[index];
    if (slot === undefined || this.draining || this.plannedExits.has(slot.worker)) return;
    mainLog('error', 'worker event loop silent past the watchdog kill timeout: killing it, a fresh process takes its place', {
      worker: index,
      pid: slot.worker.process.pid,
      silentMs: Math.round(silentMs),
    });
    this.poolMetrics.workerReplaced('watchdog');
    this.plannedExits.add(slot.worker);
    slot.ready = false;
    slot.worker.process.kill('SIGKILL');
  }

  /** Replaces every worker, one at a time: the next goes only when its successor serves the current config. */
  private async replaceWorkers(): Promise<void> {
    for (let i = 0; i < this.slots.length && !this.draining; i++) await this.replaceWorker(i, 'custody_outage');
  }

  /**
   * Replaces worker `index` with a fresh process: it drains (its live connections finish, the other
   * workers' are untouched) and exits, and this resolves once its successor serves the current config.
   */
  private async replaceWorker(index: number, reason: WorkerReplacementReason): Promise<void> {
    const old = this.slots[index]!;
    if (this.draining || this.plannedExits.has(old.worker)) return;
    this.poolMetrics.workerReplaced(reason);
    this.plannedExits.add(old.worker);
    // The primary's balancers stop handing it connections now (it closes its own listeners as it drains).
    old.ready = false;
    const exited = new Promise<void>((r) => (old.worker.isDead() ? r() : old.worker.once('exit', () => r())));
    this.send(old, { type: 'drain', ms: 5_000 });
    await exited;
    const deadline = Date.now() + 30_000;
    while (!this.draining && Date.now() < deadline) {
      const now = this.slots[index]!;
      if (now !== old && now.ready && now.version === this.target.staticResources.version) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Passes one worker's news (health results, an ejection) to every other worker that listens. */
  private sendToOthers(from: WorkerSlot, msg: ToWorker): void {
    for (const s of this.slots) if (s !== from && s.listening) this.send(s, msg);
  }

  private send(slot: WorkerSlot, msg: ToWorker, handle?: Socket): boolean {
    if (!slot.worker.isConnected()) return false;
    slot.worker.send(msg, handle as never);
    return true;
  }

  /**
   * Sends a worker its first config and resolves once it answered. A first config loads the worker's
   * keys, logging in to keyd's tokens, and SoftHSM can fail logins to one token from several
   * processes at once (each login rewrites the token's file): workers starting together take turns.
   */
  private sendFirstConfig(slot: WorkerSlot): Promise<void> {
    if (!slot.worker.isConnected()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(end, FIRST_CONFIG_TURN_MS);
      function end(): void {
        clearTimeout(timer);
        slot.endFirstConfigTurn = undefined;
        resolve();
      }
      slot.endFirstConfigTurn = end;
      slot.configured = true;
      this.sendConfig(slot, this.target.staticResources);
    });
  }

  /** Sends a worker a config, with each cluster's slot in the shared breaker counts. */
  private sendConfig(slot: WorkerSlot, snapshot: ResourceSnapshot): void {
    const table = slot.row === undefined ? undefined : this.resourceTable;
    const resourceSlots = table?.slotsFor(snapshot.clusters.map((c) => c.name)) ?? {};
    if (this.send(slot, { type: 'config', snapshot, resourceSlots })) table?.sent(slot.row!, resourceSlots);
  }

  /**
   * Gives back the shared breaker slots no worker counts in any more (clusters removed, or named only by
   * a config that was rolled back), so churning cluster names never exhaust the table.
   */
  private reclaimClusterSlots(): void {
    this.resourceTable?.reclaim(new Set(this.target.staticResources.clusters.map((c) => c.name)));
  }

  /** Ends start()'s wait for the workers' first config with `error`; false when it is no longer waiting. */
  private failStart(error: string): boolean {
    const version = this.target.staticResources.version;
    const p = this.pendingApply.get(version);
    if (!p) return false;
    this.pendingApply.delete(version);
    p.done([error, ...p.errors]);
    return true;
  }

  private applyEverywhere(b: Bootstrap): Promise<string[]> {
    const version = b.staticResources.version;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingApply.delete(version);
        resolve(['workers did not answer in time']);
      }, 15_000);
      this.pendingApply.set(version, {
        want: this.slots.length,
        errors: [],
        done: (errors) => {
          clearTimeout(timer);
          resolve(errors);
        },
      });
      // Workers still starting get the current bootstrap when they say 'ready'.
      for (const s of this.slots) if (s.configured) this.sendConfig(s, b.staticResources);
    });
  }

  private async bindBalanced(b: Bootstrap): Promise<void> {
    const balanced = b.staticResources.listeners.filter((l) => l.connectionBalanceConfig.balancer !== 'none');
    for (const l of balanced) {
      const existing = this.balancers.get(l.name);
      if (!existing || existing.name !== l.connectionBalanceConfig.balancer) this.balancers.set(l.name, createBalancer(l.connectionBalanceConfig.balancer));
    }
    await this.binder.apply(acceptingListeners(this.listenerDrain.current, balanced));
  }

  /**
   * Every worker takes the new state, and the listeners it stops that the primary accepts for close
   * here. Resolves once every worker said it serves by it (or did not answer in time), so an admin
   * call's answer means what it says on every worker's connections.
   */
  private async applyListenerDrain(state: ListenerDrainState): Promise<void> {
    const id = ++this.listenerDrainSeq;
    const live = this.slots.filter((s) => s.listening && s.worker.isConnected());
    const taken = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listenerDrainWaiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, LISTENER_DRAIN_ACK_MS);
      this.listenerDrainWaiters.set(id, { want: live.length, done });
      if (live.length === 0) done();
    });
    for (const s of live) this.send(s, { type: 'listener-drain', id, state });
    if (!this.draining) {
      // Only closes sockets (a stopped listener never comes back), so it cannot fail to bind.
      await this.bindBalanced(this.bootstrap).catch((err: unknown) => mainLog('error', 'stopping listeners failed', { error: (err as Error).message }));
    }
    await taken;
  }

  /** Hands a connection accepted in the primary to the worker its listener's balancer picks. */
  private distribute(listener: string, socket: Socket): void {
    const balancer = this.balancers.get(listener);
    const idx = balancer ? balancer.pick(this.slots) : -1;
    const slot = idx >= 0 ? this.slots[idx] : undefined;
    if (!slot || !slot.worker.isConnected()) {
      socket.destroy();
      return;
    }
    slot.activeConnections++;
    slot.handing.set(socket, listener);
    // keepOpen: the primary's copy is closed here once the message is written, not when node gets the
    // worker's acknowledgement, which never comes from a worker that died: that socket hung open.
    slot.worker.send({ type: 'conn', listener } satisfies ToWorker, socket as never, { keepOpen: true }, (err: Error | null) => {
      if (!slot.handing.delete(socket)) return;
      if (err === null) {
        socket.destroy();
        return;
      }
      // Refused by a channel that just closed: the socket is still unread, another worker gets it.
      slot.activeConnections--;
      slot.ready = false;
      this.distribute(listener, socket);
    });
  }

  async reload(next: Bootstrap): Promise<string | undefined> {
    const error = await this.applyReload(next);
    this.configUpdates.count(error);
    return error;
  }

  private async applyReload(next: Bootstrap): Promise<string | undefined> {
    for (const l of next.staticResources.listeners) {
      try {
        createBalancer(l.connectionBalanceConfig.balancer);
      } catch (err) {
        return (this.lastReloadError = `listener "${l.name}": ${(err as Error).message}`);
      }
    }
    const busy = await unbindableAddress(this.newWorkerAddresses(next));
    if (busy !== undefined) return (this.lastReloadError = busy);
    const previous = this.bootstrap;
    // The workers could not bind an address the primary still listens on.
    this.binder.release(this.listenersMovingToWorkers(next));
    this.target = next;
    const errors = await this.applyEverywhere(next);
    if (errors.length > 0) {
      // Workers that took the new version go back, so every worker runs the same config.
      this.target = previous;
      await this.applyEverywhere(previous);
      await this.rebindAfterRollback(previous);
      return (this.lastReloadError = errors.join('; '));
    }
    try {
      await this.bindBalanced(next);
    } catch (err) {
      // The workers already run the new version: they go back too.
      this.target = previous;
      await this.applyEverywhere(previous);
      await this.rebindAfterRollback(previous);
      return (this.lastReloadError = (err as Error).message);
    }
    this.bootstrap = next;
    this.updateTimes.record(next);
    this.counters.keepOnly(CLUSTER_LABEL, new Set(next.staticResources.clusters.map((c) => c.name)));
    this.lastReloadError = undefined;
    configLog('info', 'config applied', { version: next.staticResources.version, workers: this.slots.length });
    return undefined;
  }

  /** After a refused reload: the primary accepts again for listeners it released to the workers. */
  private async rebindAfterRollback(previous: Bootstrap): Promise<void> {
    try {
      await this.bindBalanced(previous);
    } catch (err) {
      configLog('error', 'a listener does not accept after a refused reload', { error: (err as Error).message });
    }
  }

  /** Listeners the primary accepts for whose address `next` has the workers accept for (a changed balancer). */
  private listenersMovingToWorkers(next: Bootstrap): string[] {
    const toWorkers = new Set(next.staticResources.listeners.filter((l) => l.connectionBalanceConfig.balancer === 'none').map(addressKey));
    return this.bootstrap.staticResources.listeners.filter((l) => l.connectionBalanceConfig.balancer !== 'none' && l.address.socketAddress.portValue !== 0 && toWorkers.has(addressKey(l))).map((l) => l.name);
  }

  /** Listeners of `next` the workers are to bind on a fixed address that the running config does not have. */
  private newWorkerAddresses(next: Bootstrap): Listener[] {
    const current = new Set(this.bootstrap.staticResources.listeners.map(addressKey));
    return next.staticResources.listeners.filter((l) => l.connectionBalanceConfig.balancer === 'none' && l.address.socketAddress.portValue !== 0 && !current.has(addressKey(l)));
  }

  reloadRejected(error: string): void {
    this.lastReloadError = error;
    this.configUpdates.count(error);
    // Each worker counts it, as each counts a snapshot it refuses itself.
    for (const s of this.slots) if (s.listening) this.send(s, { type: 'reload-rejected' });
  }

  private async metrics(): Promise<MetricsSnapshot> {
    const epoch = this.resetEpoch;
    const reports = await this.workerReports(false);
    // Reports made before a /reset_counters that ended meanwhile would serve the old counts again.
    if (epoch !== this.resetEpoch) return this.metrics();
    return this.counters.combine([...reports.map((r) => r.snapshot), this.poolMetrics.snapshot()]);
  }

  /** /logging: this process and every worker take the levels; resolves once each worker did (or did not answer in time). */
  private setLogLevels(change: Partial<Record<LoggerName, LogLevel>>): Promise<void> {
    setLogLevels(change);
    return this.toEveryWorker((id) => ({ type: 'log-levels', id, levels: logLevels() }));
  }

  /** /reset_counters: every worker's counters, then the primary's (its own, and what exited workers counted). */
  private async resetCounters(): Promise<void> {
    await this.toEveryWorker((id) => ({ type: 'reset-counters', id }));
    this.counters.resetCounters();
    this.poolMetrics.resetCounters();
    this.configUpdates.reset();
    // A worker's last report, retired when it exits, would bring its old counts back.
    for (const s of this.slots) s.lastSnapshot = undefined;
    this.reportRounds.clear();
    this.resetEpoch++;
  }

  /** Sends each live worker the order of a new acknowledged round and waits for the round. */
  private toEveryWorker(order: (id: number) => ToWorker): Promise<void> {
    const live = this.slots.filter((s) => s.listening && s.worker.isConnected());
    return this.acks.run(live.length, WORKER_ACK_MS, (id) => {
      const msg = order(id);
      for (const s of live) this.send(s, msg);
    });
  }

  private async clusterStatuses(): Promise<ClusterStatus[]> {
    const reports = await this.workerReports(true);
    return mergeClusterStatuses(reports.map((r) => r.clusters ?? []));
  }

  /**
   * Every live worker's metrics, and its cluster view when asked. Admin requests that arrive while a
   * round of reports is under way share it: each report costs every worker's event loop (the data
   * path) a snapshot, and scrapes in a burst would otherwise cost one each.
   */
  private workerReports(withClusters: boolean): Promise<WorkerReport[]> {
    const shared = this.reportRounds.get(withClusters) ?? (withClusters ? undefined : this.reportRounds.get(true));
    if (shared !== undefined) return shared;
    const round = this.askWorkers(withClusters);
    this.reportRounds.set(withClusters, round);
    // Only this round: /reset_counters may have put a newer one in its place.
    void round.then(() => this.reportRounds.get(withClusters) === round && this.reportRounds.delete(withClusters));
    return round;
  }

  /** One round of 'stats' messages; a worker that does not answer in time is left out. */
  private askWorkers(withClusters: boolean): Promise<WorkerReport[]> {
    const id = ++this.statsSeq;
    const live = this.slots.filter((s) => s.worker.isConnected());
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const w = this.statsWaiters.get(id);
        this.statsWaiters.delete(id);
        resolve(w?.got ?? []);
      }, STATS_TIMEOUT_MS);
      this.statsWaiters.set(id, {
        want: live.length,
        got: [],
        done: (reports) => {
          clearTimeout(timer);
          resolve(reports);
        },
      });
      for (const s of live) this.send(s, { type: 'stats', id, clusters: withClusters });
    });
  }

  /**
   * Bound ports: listeners accepted in the primary from its binder, the others from what the workers
   * reported (they share one socket, so one port; a listener on port 0 gets its real port this way).
   */
  private listenerPorts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.bootstrap.staticResources.listeners) {
      const fromWorker = this.slots.find((s) => s.ready && s.ports[l.name] !== undefined)?.ports[l.name];
      out[l.name] = this.binder.portOf(l.name) ?? fromWorker ?? l.address.socketAddress.portValue;
    }
    return out;
  }

  private status(): unknown {
    return {
      version: this.bootstrap.staticResources.version,
      lastReloadError: this.lastReloadError,
      node: this.bootstrap.node,
      listenerPorts: this.listenerPorts(),
      warnings: this.allowMemoryKeys ? ['INSECURE: --insecure-memory-keys is on: private keys may be held in proxy memory'] : [],
      workers: this.slots.map((s) => ({ index: s.index, pid: s.worker.process.pid, ready: s.ready, responsive: s.responsive, version: s.version, ports: s.ports, activeConnections: s.activeConnections, lastError: s.lastError })),
    };
  }

  reopenLogs(): void {
    for (const s of this.slots) this.send(s, { type: 'reopen-logs' });
  }

  async shutdown(why: string, drainMs = this.drainMs): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.custody?.stop();
    this.watchdog.stop();
    mainLog('info', 'draining', { reason: why, workers: this.slots.length });
    this.binder.close();
    const exits = this.slots.map((s) => new Promise<void>((r) => (s.worker.isDead() ? r() : s.worker.once('exit', () => r()))));
    for (const s of this.slots) {
      // One still starting serves nothing yet and may not read messages yet (a failed start): a signal stops it.
      if (s.listening) this.send(s, { type: 'drain', ms: drainMs });
      else s.worker.process.kill('SIGTERM');
    }
    const allExited = Promise.all(exits);
    const cut = new Promise<void>((r) => this.drainCut.signal.addEventListener('abort', () => r(), { once: true }));
    await Promise.race([allExited, delay(drainMs + 2_000), cut]);
    if (this.drainCut.signal.aborted) {
      for (const s of this.slots) this.send(s, { type: 'end-drain' });
      await Promise.race([allExited, delay(END_DRAIN_GRACE_MS)]);
    }
    const stuck = this.slots.filter((s) => !s.worker.isDead());
    for (const s of stuck) s.worker.process.kill('SIGKILL');
    // The primary leaves only once every worker is gone: none is left behind without its primary.
    await Promise.race([allExited, delay(1_000)]);
    if (stuck.length > 0) mainLog('warn', 'workers killed: they did not exit in time', { workers: stuck.map((s) => s.index) });
    if (this.drainCut.signal.aborted) mainLog('info', 'workers stopped; exiting after a drain ended early', { workers: this.slots.length });
    this.admin?.close();
    this.onExit(0);
  }

  endDrain(why: string): void {
    if (!this.draining || this.drainCut.signal.aborted) return;
    mainLog('warn', 'drain ended early: in-flight requests are cut; stopping workers now', { reason: why, workers: this.slots.filter((s) => !s.worker.isDead()).length });
    this.drainCut.abort();
  }
}

function addressKey(l: Listener): string {
  return `${l.address.socketAddress.address}:${l.address.socketAddress.portValue}`;
}

/** Resolves after `ms`; unref'd, so it never holds the exit back (the live workers keep the loop alive). */
function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
