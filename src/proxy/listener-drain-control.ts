import { proxyLogger } from './proxy-log.js';
import { NO_LISTENER_DRAIN, type ListenerDrainState, type ListenerScope } from './listeners/listener-drain-state.js';

const adminLog = proxyLogger('admin');

/** POST /drain_listeners as Envoy's admin reads it. */
export interface DrainListenersRequest {
  /** `?inboundonly`: only INBOUND listeners. */
  scope: ListenerScope;
  /** `?graceful`: the drain time first, accepting while connections are asked to close. */
  graceful: boolean;
  /** `?skip_exit` (with graceful): the listeners are not stopped when the drain time is up. */
  skipExit: boolean;
}

/**
 * Keeps what /healthcheck/fail, /healthcheck/ok and /drain_listeners asked of the listeners, runs the
 * graceful drain's timer, and hands each new state to `apply` (this process, or every worker). The
 * process keeps running: unlike /quitquitquit, nothing here exits.
 */
export class ListenerDrainControl {
  private state: ListenerDrainState = NO_LISTENER_DRAIN;

  constructor(
    /** --drain-time: how long a graceful /drain_listeners asks connections to close before it stops the listeners. */
    private readonly drainMs: number,
    /** Resolves once every process serves by the new state. */
    private readonly apply: (state: ListenerDrainState) => Promise<void>,
  ) {}

  get current(): ListenerDrainState {
    return this.state;
  }

  /** A graceful drain has begun: the server reports DRAINING from then on, as Envoy's drain manager does. */
  get draining(): boolean {
    return this.state.discouraged !== undefined;
  }

  /** Resolves once every process fails (or passes) health checks, as Envoy's one flag does for all its workers. */
  setHealthCheckFailed(failed: boolean): Promise<void> {
    return failed === this.state.healthCheckFailed ? Promise.resolve() : this.update({ healthCheckFailed: failed });
  }

  /** Resolves once every process stopped the listeners, or (graceful) began their drain. */
  drainListeners(req: DrainListenersRequest): Promise<void> {
    if (!req.graceful) return this.stop(req.scope);
    // As in Envoy, a graceful call while a drain is under way is ignored: one drain sequence per server.
    if (this.draining) return Promise.resolve();
    adminLog('info', 'draining listeners: connections are asked to close; the listeners stop when the drain time is up', { scope: req.scope, drainMs: this.drainMs, stopAfter: !req.skipExit });
    if (!req.skipExit) setTimeout(() => void this.stop(req.scope), this.drainMs).unref();
    return this.update({ discouraged: req.scope });
  }

  private stop(scope: ListenerScope): Promise<void> {
    const stopped = this.state.stopped === 'all' ? 'all' : scope;
    if (stopped === this.state.stopped) return Promise.resolve();
    adminLog('info', 'listeners stop accepting (/drain_listeners); the process keeps running', { scope: stopped });
    return this.update({ stopped });
  }

  private update(change: Partial<ListenerDrainState>): Promise<void> {
    this.state = { ...this.state, ...change };
    return this.apply(this.state);
  }
}
