import { NO_LISTENER_DRAIN, type ListenerDrainState } from './listeners/listener-drain-state.js';

/**
 * Keeps what /healthcheck/fail and /healthcheck/ok asked of the listeners and hands each new state
 * to `apply` (this process, or every worker).
 */
export class ListenerDrainControl {
  private state: ListenerDrainState = NO_LISTENER_DRAIN;

  constructor(
    /** Resolves once every process serves by the new state. */
    private readonly apply: (state: ListenerDrainState) => Promise<void>,
  ) {}

  get current(): ListenerDrainState {
    return this.state;
  }

  /** Resolves once every process fails (or passes) health checks, as Envoy's one flag does for all its workers. */
  setHealthCheckFailed(failed: boolean): Promise<void> {
    return failed === this.state.healthCheckFailed ? Promise.resolve() : this.update({ healthCheckFailed: failed });
  }

  private update(change: Partial<ListenerDrainState>): Promise<void> {
    this.state = { ...this.state, ...change };
    return this.apply(this.state);
  }
}
