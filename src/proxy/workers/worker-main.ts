/** Entry point of a proxy worker process: runs a ProxyHost and takes orders from the primary over IPC. */
import type { Socket, Server } from 'node:net';
import { clusterStatuses } from '../admin/cluster-status.js';
import { processMemory } from '../admin/memory-usage.js';
import { drainConnections } from '../drain-connections.js';
import { ListenerBinder } from '../listeners/listener-binder.js';
import { acceptingListeners, NO_LISTENER_DRAIN, type ListenerDrainState } from '../listeners/listener-drain-state.js';
import { ProxyHost } from '../proxy-host.js';
import { proxyLogger, setLogLevels } from '../proxy-log.js';
import { keyCustodyHealth } from '../tls/key-custody-health.js';
import { useTicketKeySecret } from '../tls/session-ticket-keys.js';
import type { ResourceSnapshot } from '../../model/bootstrap.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-messages.js';
import { WorkerResourceTable } from './shared-resource-table.js';
import { HEARTBEAT_MS } from './worker-watchdog.js';

const mainLog = proxyLogger('main');

const settings = JSON.parse(process.env.BULWARK_WORKER_SETTINGS ?? '{}') as WorkerSettings;
const host = new ProxyHost(settings);
const resourceTable = settings.resourceTable && new WorkerResourceTable(settings.resourceTable);
if (resourceTable) host.runtime.clusters.resourceCounts = resourceTable;
const binder = new ListenerBinder((name, socket) => host.runtime.handleSocket(name, socket));
let handedConnectionsClosed = 0;
/** What the admin API asked of the listeners, as the primary last sent it. */
let listenerDrain: ListenerDrainState = NO_LISTENER_DRAIN;
let draining = false;
/** Aborted when the primary (or a second SIGTERM) ends the drain early. */
const drainCut = new AbortController();

function send(msg: FromWorker): void {
  if (process.connected) process.send!(msg);
}

/** Resolves once `msg` is written to the primary (or cannot be): for the last message before exit. */
function sendLast(msg: FromWorker): Promise<void> {
  return new Promise((resolve) => (process.connected ? process.send!(msg, undefined, {}, () => resolve()) : resolve()));
}

/** The worker that runs the active health checks reports all its results on every change; the primary passes them on. */
function reportHealth(): void {
  if (host.runtime.clusters.runsHealthChecks) send({ type: 'health', snapshot: host.runtime.clusters.healthSnapshot() });
}
host.runtime.clusters.onHealthChange = reportHealth;
host.runtime.clusters.onOutcome = (cluster, seen, outcome) => send({ type: 'outcome', cluster, host: seen.key, outcome });
host.runtime.clusters.onEjection = (cluster, ejected) =>
  send({ type: 'ejection', cluster, host: ejected.key, until: ejected.ejectedUntil, ejections: ejected.ejectionCount });

let configsApplied = Promise.resolve();

/** The shared breaker slots this worker counts in, reported with every answer to a config. */
function heldSlots(): number[] {
  return resourceTable?.heldSlots() ?? [];
}

async function applyConfig(snapshot: ResourceSnapshot, resourceSlots: Record<string, number>): Promise<void> {
  resourceTable?.useSlots(resourceSlots);
  const rejection = await host.applyRetryingCustody(snapshot);
  if (rejection) {
    send({ type: 'rejected', version: snapshot.version, error: rejection.error, custody: rejection.custody, heldSlots: heldSlots() });
    return;
  }
  // Hosts came or went: the other workers get this worker's view of the new set.
  reportHealth();
  try {
    await binder.apply(ownListeners(snapshot));
    send({ type: 'applied', version: snapshot.version, ports: binder.ports(), heldSlots: heldSlots() });
  } catch (err) {
    send({ type: 'rejected', version: snapshot.version, error: (err as Error).message, custody: false, heldSlots: heldSlots() });
  }
}

/** Listeners without a primary-side balancer are accepted here, on the socket shared through cluster; a stopped one is not. */
function ownListeners(snapshot: ResourceSnapshot): ResourceSnapshot['listeners'] {
  return acceptingListeners(listenerDrain, snapshot.listeners.filter((l) => l.connectionBalanceConfig.balancer === 'none'));
}

/** Connections read the new state at their next response; listeners it stops close this worker's handle of their socket. */
function useListenerDrain(id: number, state: ListenerDrainState): void {
  listenerDrain = state;
  host.runtime.useDrainState(state);
  // After any config being applied, so the listeners it binds are filtered too.
  configsApplied = configsApplied.then(async () => {
    const current = host.runtime.current;
    if (current !== undefined && !draining) {
      await binder.apply(ownListeners(current)).catch((err: unknown) => mainLog('error', 'stopping listeners failed', { error: (err as Error).message }));
    }
    send({ type: 'listener-drain-applied', id });
  });
}

process.on('message', (msg: ToWorker, handle: Socket | Server | undefined) => {
  switch (msg.type) {
    case 'ticket-keys':
      useTicketKeySecret(Buffer.from(msg.secret, 'base64'));
      return;
    case 'config':
      // One at a time, in the order sent: an apply may wait to retry a key load (applyRetryingCustody).
      configsApplied = configsApplied.then(() => applyConfig(msg.snapshot, msg.resourceSlots));
      return;
    case 'conn': {
      const socket = handle as Socket | undefined;
      if (!socket) return;
      socket.once('close', () => {
        handedConnectionsClosed++;
      });
      // The listener decides how the socket is read (a TCP proxy holds bytes until its upstream connects).
      host.runtime.handleSocket(msg.listener, socket);
      return;
    }
    case 'stats': {
      let outstanding = 0;
      for (const c of host.runtime.clusters.all()) outstanding += c.stats.connectionsActive;
      send({
        type: 'stats',
        id: msg.id,
        snapshot: host.metricsSnapshot(),
        clusters: msg.clusters ? clusterStatuses(host.runtime.clusters.all()) : undefined,
        outstanding,
        liveConnections: host.runtime.liveConnections(),
        memory: processMemory(),
      });
      return;
    }
    case 'drain':
      void drain(msg.ms);
      return;
    case 'end-drain':
      drainCut.abort();
      return;
    case 'reopen-logs':
      host.reopenAccessLogs();
      return;
    case 'listener-drain':
      useListenerDrain(msg.id, msg.state);
      return;
    case 'log-levels':
      setLogLevels(msg.levels);
      send({ type: 'acknowledged', id: msg.id });
      return;
    case 'reset-counters':
      host.resetCounters();
      send({ type: 'acknowledged', id: msg.id });
      return;
    case 'reload-rejected':
      host.proxyMetrics.configReloadsRejected.inc();
      return;
    case 'health-role':
      host.runtime.clusters.setActiveHealthChecks(true);
      reportHealth();
      return;
    case 'health':
      host.runtime.clusters.applyHealth(msg.snapshot);
      return;
    case 'ejection':
      host.runtime.clusters.applyEjection(msg.cluster, msg.host, msg.until, msg.ejections);
      return;
    case 'outcome':
      host.runtime.clusters.applyOutcome(msg.cluster, msg.host, msg.outcome);
      return;
    case 'listen':
      return;
  }
});

/** Reports connection closes so the primary's balancers know each worker's load. */
const loadTimer = setInterval(() => {
  if (handedConnectionsClosed > 0) {
    send({ type: 'load', outstanding: host.runtime.liveConnections(), closedConnections: handedConnectionsClosed });
    handedConnectionsClosed = 0;
  }
}, 100);
loadTimer.unref();
// The primary's watchdog takes silence for a stalled event loop.
setInterval(() => send({ type: 'alive' }), HEARTBEAT_MS).unref();

async function drain(drainMs = 5_000): Promise<void> {
  if (draining) return;
  draining = true;
  binder.close();
  await drainConnections(host.runtime, drainMs, drainCut.signal);
  host.runtime.close();
  // Lines of the last requests are still batched: exiting without writing them loses them.
  await host.flushAccessLogs();
  // Counts made since the last scrape (custody failures that led to this drain) outlive the process.
  await sendLast({ type: 'drained', snapshot: host.metricsSnapshot() });
  process.exit(0);
}

process.on('disconnect', () => {
  // The primary is gone: no one will send config or sockets, so finish what is in flight and leave.
  void drain();
});
// SIGTERM sent to the whole process group: the first drains, a second ends that drain, as in the primary.
process.on('SIGTERM', () => (draining ? drainCut.abort() : void drain()));
process.on('SIGINT', () => undefined);
process.on('uncaughtException', (err) => {
  mainLog('error', 'uncaught exception in worker', { error: err.stack ?? err.message });
  process.exit(70);
});
// The primary tells a keyd outage (its socket does not answer) from a failure of this process alone.
keyCustodyHealth.onFirstFailure(() => send({ type: 'custody-failure' }));
// A PKCS#11 session cannot be re-established inside this process: a fresh process replaces it.
keyCustodyHealth.onSessionBroken((failures) => send({ type: 'custody-broken', failures }));
send({ type: 'ready' });
