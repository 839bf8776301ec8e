/**
 * Envoy's server states (admin.v3.ServerInfo.State), as /ready and /server_info report them.
 * pilot-agent's readiness probe reads /ready: 200 only when LIVE.
 */
export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

/** The state the admin API reports: a failed health check (POST /healthcheck/fail) reads as DRAINING, as in Envoy. */
export function reportedState(state: ServerState, healthCheckFailed: boolean): ServerState {
  return state === 'LIVE' && healthCheckFailed ? 'DRAINING' : state;
}
