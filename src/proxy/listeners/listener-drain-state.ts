import type { Listener } from '../../model/listener.js';

/** Which listeners a /drain_listeners call names: every one, or with `?inboundonly` the INBOUND ones (Envoy's StopListenersType). */
export type ListenerScope = 'all' | 'inbound';

/**
 * What the admin API asked of the listeners, as every process of the proxy applies it. The primary
 * keeps it and sends it to each worker, a worker started later included.
 */
export interface ListenerDrainState {
  /** POST /healthcheck/fail: HTTP connections are asked to close at their next response (Envoy's drain manager while health check failed). */
  healthCheckFailed: boolean;
  /** /drain_listeners?graceful, during the drain time: these listeners still accept, and their HTTP connections are asked to close. */
  discouraged: ListenerScope | undefined;
  /** /drain_listeners: these listeners accept no more (their sockets are closed), and a reload does not open them again. */
  stopped: ListenerScope | undefined;
}

export const NO_LISTENER_DRAIN: ListenerDrainState = { healthCheckFailed: false, discouraged: undefined, stopped: undefined };

/** True when `scope` names `listener`; Envoy reads a listener's traffic_direction for `inboundonly`. */
export function inScope(scope: ListenerScope | undefined, listener: Listener): boolean {
  return scope === 'all' || (scope === 'inbound' && listener.trafficDirection === 'INBOUND');
}

/** Envoy's DrainDecision.drainClose(): whether a connection on `listener` should close after its current response. */
export function drainClose(state: ListenerDrainState, listener: Listener): boolean {
  return state.healthCheckFailed || inScope(state.discouraged, listener);
}

/** The listeners that still accept under `state`. */
export function acceptingListeners<L extends Listener>(state: ListenerDrainState, listeners: readonly L[]): L[] {
  return listeners.filter((l) => !inScope(state.stopped, l));
}
