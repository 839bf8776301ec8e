/**
 * What the admin API asked of the listeners, as every process of the proxy applies it. The primary
 * keeps it and sends it to each worker, a worker started later included.
 */
export interface ListenerDrainState {
  /** POST /healthcheck/fail: HTTP connections are asked to close at their next response (Envoy's drain manager while health check failed). */
  healthCheckFailed: boolean;
}

export const NO_LISTENER_DRAIN: ListenerDrainState = { healthCheckFailed: false };

/** Envoy's DrainDecision.drainClose(): whether a connection should close after its current response. */
export function drainClose(state: ListenerDrainState): boolean {
  return state.healthCheckFailed;
}
