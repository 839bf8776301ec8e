import type { AddressInfo } from 'node:net';
import { H1H2cServer, type AdminRequest, type AdminResponse } from './h1-h2c-server.js';
import type { ResourceSnapshot } from '../../model/bootstrap.js';
import type { MetricsSnapshot } from '../../telemetry/metrics-snapshot.js';
import type { DrainListenersRequest } from '../listener-drain-control.js';
import type { RunningConfig } from './config-dump.js';
import { renderClustersJson, renderClustersText, type ClusterStatus } from './cluster-status.js';
import { boundListeners, renderListenersJson, renderListenersText } from './listener-status.js';
import { logLevels } from '../proxy-log.js';
import type { LoggingChange } from './logging-request.js';
import type { MemoryFigures } from './memory-usage.js';
import type { CommandLineOptions } from './server-info.js';
import { reportedState, type ServerState } from './server-state.js';
import type { ServerLifecycle } from './envoy-server-stats.js';

/** What the admin endpoints read from the proxy. */
export interface AdminSource {
  /** Every metric, merged over the worker processes. */
  metrics(): Promise<MetricsSnapshot>;
  /** Memory figures added up over the primary and the workers. */
  memory(): Promise<MemoryFigures>;
  /** Every cluster's hosts, merged over the worker processes. */
  clusterStatuses(): Promise<ClusterStatus[]>;
  /** The running config and when each resource changed, for /config_dump. */
  runningConfig(): RunningConfig;
  /** Bulwark's own state (version, last refused reload, warnings, workers), for /bulwark/status. */
  status(): unknown;
  /** The running config's resources (for /certs). */
  resources(): ResourceSnapshot;
  /** The proxy's own state; a failed health check is added by the admin server. */
  state(): ServerState;
  /** Whether the workers run, and the config updates applied and refused (Envoy's server-wide stats). */
  lifecycle(): ServerLifecycle;
  /** The bootstrap's node (id, cluster). */
  node(): unknown;
  readonly commandLineOptions: CommandLineOptions;
  listenerPorts(): Record<string, number>;
  /** Starts a graceful drain and exit. */
  quit(): void;
  /** /healthcheck/fail and /healthcheck/ok: while failed, HTTP connections are asked to close at their next response. */
  setHealthCheckFailed(failed: boolean): Promise<void>;
  /** /drain_listeners: stops the listeners (after the drain time with `graceful`); the process keeps running. */
  drainListeners(req: DrainListenersRequest): Promise<void>;
  /** Opens the access log files again by path (log rotation). */
  reopenLogs(): void;
  /** /logging: sets loggers' levels in every process; resolves once each took them. */
  setLogLevels(change: LoggingChange): Promise<void>;
  /** /reset_counters: every counter from zero in every process; resolves once each did. */
  resetCounters(): Promise<void>;
}

const TEXT = 'text/plain; charset=UTF-8';
const JSON_TYPE = 'application/json';

interface Endpoint {
  help: string;
  /** Changes the server's state: POST only, as Envoy's admin requires. */
  mutates: boolean;
  handle(res: AdminResponse, query: URLSearchParams): Promise<void> | void;
}

/**
 * Envoy-style admin endpoints. Paths match exactly (the query aside); an unknown one gets Envoy's
 * "invalid path" page listing the commands, and a mutating one asked with another method than POST
 * gets Envoy's 405.
 */
export class AdminServer {
  private readonly server: H1H2cServer;
  private readonly endpoints: ReadonlyMap<string, Endpoint>;
  private readonly startedAtMs = Date.now();
  /** Set by POST /healthcheck/fail: /ready answers 503 DRAINING until POST /healthcheck/ok. */
  private healthCheckFailed = false;

  constructor(private readonly source: AdminSource) {
    this.endpoints = this.endpointTable();
    this.server = new H1H2cServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': TEXT });
        res.end(`admin error: ${(err as Error).message}\n`);
      });
    });
  }

  listen(address: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const listener = this.server.listener;
      listener.once('error', reject);
      listener.listen({ host: address, port }, () => resolve((listener.address() as AddressInfo).port));
    });
  }

  close(): void {
    this.server.close();
  }

  private state(): ServerState {
    return reportedState(this.source.state(), this.healthCheckFailed);
  }

  /**
   * Endpoints load what renders them when first asked (dynamic imports): a sidecar that is never asked
   * for its config dump or certificates does not hold that code, and idle memory is a target.
   */
  private endpointTable(): Map<string, Endpoint> {
    const s = this.source;
    const table: Array<[string, Endpoint]> = [
      ['/certs', { help: 'print certs on machine', mutates: false, handle: async (res) => {
        const { certificateDetails } = await import('./certificate-details.js');
        send(res, 200, JSON_TYPE, JSON.stringify(certificateDetails(s.resources()), null, 2));
      } }],
      ['/clusters', { help: 'upstream cluster status', mutates: false, handle: async (res, q) => {
        const statuses = await s.clusterStatuses();
        if (q.get('format') === 'json') send(res, 200, JSON_TYPE, JSON.stringify(renderClustersJson(statuses), null, 2));
        else send(res, 200, TEXT, renderClustersText(statuses));
      } }],
      ['/bulwark/status', { help: 'print Bulwark\'s own state: config version, last refused reload, warnings, workers', mutates: false, handle: (res) => send(res, 200, JSON_TYPE, JSON.stringify(s.status(), null, 2)) }],
      ['/config_dump', { help: 'dump current Envoy configs (experimental)', mutates: false, handle: async (res, q) => {
        const { answerConfigDump } = await import('./config-dump-query.js');
        const answer = answerConfigDump(s.runningConfig(), q);
        if (answer.status === 200) send(res, 200, JSON_TYPE, answer.body);
        else send(res, answer.status, TEXT, answer.body, { 'x-content-type-options': 'nosniff' });
      } }],
      ['/drain_listeners', { help: 'drain listeners (?inboundonly, ?graceful, ?skip_exit)', mutates: true, handle: async (res, q) => {
        const graceful = q.has('graceful');
        const skipExit = q.has('skip_exit');
        if (skipExit && !graceful) {
          send(res, 400, TEXT, 'skip_exit requires graceful\n');
          return;
        }
        await s.drainListeners({ scope: q.has('inboundonly') ? 'inbound' : 'all', graceful, skipExit });
        send(res, 200, TEXT, 'OK\n');
      } }],
      ['/healthcheck/fail', { help: 'cause the server to fail health checks', mutates: true, handle: async (res) => {
        this.healthCheckFailed = true;
        await s.setHealthCheckFailed(true);
        send(res, 200, TEXT, 'OK\n');
      } }],
      ['/healthcheck/ok', { help: 'cause the server to pass health checks', mutates: true, handle: async (res) => {
        this.healthCheckFailed = false;
        await s.setHealthCheckFailed(false);
        send(res, 200, TEXT, 'OK\n');
      } }],
      ['/healthz', { help: 'liveness: the admin server answers', mutates: false, handle: (res) => send(res, 200, TEXT, 'OK\n') }],
      ['/listeners', { help: 'print listener info (?format=json)', mutates: false, handle: (res, q) => {
        const listeners = boundListeners(s.resources().listeners, s.listenerPorts());
        if (q.get('format') === 'json') send(res, 200, JSON_TYPE, JSON.stringify(renderListenersJson(listeners), null, 2));
        else send(res, 200, TEXT, renderListenersText(listeners));
      } }],
      ['/logging', { help: 'query/change logging levels', mutates: true, handle: async (res, q) => {
        const { loggingUsage, parseLoggingQuery, renderLoggers } = await import('./logging-request.js');
        const parsed = parseLoggingQuery(q);
        if ('error' in parsed) {
          send(res, 400, TEXT, loggingUsage(parsed.error) + renderLoggers(logLevels()));
          return;
        }
        if (Object.keys(parsed.change).length > 0) await s.setLogLevels(parsed.change);
        send(res, 200, TEXT, renderLoggers(logLevels()));
      } }],
      ['/memory', { help: 'print current allocation/heap usage', mutates: false, handle: async (res) => {
        const { renderMemory } = await import('./memory-usage.js');
        send(res, 200, JSON_TYPE, JSON.stringify(renderMemory(await s.memory()), null, 2));
      } }],
      ['/quitquitquit', { help: 'exit the server (after a graceful drain)', mutates: true, handle: (res) => {
        send(res, 200, TEXT, 'OK\n');
        s.quit();
      } }],
      ['/ready', { help: 'print server state, return 200 if LIVE, otherwise return 503', mutates: false, handle: (res) => {
        const state = this.state();
        send(res, state === 'LIVE' ? 200 : 503, TEXT, `${state}\n`);
      } }],
      ['/reopen_logs', { help: 'reopen access logs', mutates: true, handle: (res) => {
        s.reopenLogs();
        send(res, 200, TEXT, 'OK\n');
      } }],
      ['/reset_counters', { help: 'reset all counters to zero', mutates: true, handle: async (res) => {
        await s.resetCounters();
        send(res, 200, TEXT, 'OK\n');
      } }],
      ['/runtime', { help: 'print runtime values', mutates: false, handle: async (res) => send(res, 200, JSON_TYPE, (await import('./runtime-layers.js')).renderRuntime()) }],
      ['/server_info', { help: 'print server version/status information', mutates: false, handle: async (res) => {
        const { serverInfo } = await import('./server-info.js');
        send(res, 200, JSON_TYPE, JSON.stringify(serverInfo(this.state(), this.startedAtMs, s.commandLineOptions, s.node()), null, 2));
      } }],
      ['/stats', { help: 'print server stats (?format=json|prometheus, ?filter=RE2, ?usedonly)', mutates: false, handle: (res, q) => this.stats(res, q, q.get('format') ?? 'text') }],
      ['/stats/prometheus', { help: 'print server stats in prometheus format (?filter=RE2, ?usedonly)', mutates: false, handle: (res, q) => this.stats(res, q, 'prometheus') }],
    ];
    return new Map(table);
  }

  private async stats(res: AdminResponse, query: URLSearchParams, format: string): Promise<void> {
    const { statsPage } = await import('./stats-page.js');
    const page = await statsPage(this.source, { state: this.state(), startedAtMs: this.startedAtMs }, query, format);
    send(res, page.status, page.contentType, page.body);
  }

  private async handle(req: AdminRequest, res: AdminResponse): Promise<void> {
    const url = originForm(req.url ?? '/');
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const endpoint = this.endpoints.get(path);
    if (endpoint === undefined) {
      send(res, 404, TEXT, `invalid path. ${this.help()}`);
      return;
    }
    if (endpoint.mutates && req.method !== 'POST') {
      send(res, 405, TEXT, `Method ${req.method} not allowed, POST required.`, { allow: 'POST' });
      return;
    }
    await endpoint.handle(res, new URLSearchParams(q === -1 ? '' : url.slice(q + 1)));
  }

  /** Envoy's command list, as its 404 page ends. */
  private help(): string {
    const lines = [...this.endpoints].map(([path, e]) => `  ${path}: ${e.help}\n`).sort();
    return `admin commands are:\n${lines.join('')}`;
  }
}

/** A request target in absolute form (`http://host/ready`, as a forward proxy sends it) as its path and query, as Envoy's codec reads it. */
function originForm(target: string): string {
  if (!/^https?:\/\//i.test(target)) return target;
  const pathStart = target.indexOf('/', target.indexOf('//') + 2);
  return pathStart === -1 ? '/' : target.slice(pathStart);
}

function send(res: AdminResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, ...headers });
  res.end(body);
}
