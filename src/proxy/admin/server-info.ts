/**
 * Envoy's /server_info (admin.v3.ServerInfo in proto3 JSON): version, state, uptime and the command
 * line options the proxy runs with. Options Bulwark has no counterpart for are left out rather than
 * given made-up values.
 */
import { BULWARK_VERSION } from '../../util/version.js';
import type { ServerState } from './server-state.js';

/** The command line options /server_info reports. */
export interface CommandLineOptions {
  concurrency: number;
  drainTimeMs: number;
}

/** A proto3 JSON Duration: seconds with an "s". */
function duration(ms: number): string {
  return `${Math.floor(ms / 1000)}s`;
}

/** The /server_info body. */
export function serverInfo(state: ServerState, startedAtMs: number, options: CommandLineOptions, node: unknown, nowMs = Date.now()): unknown {
  const uptime = duration(nowMs - startedAtMs);
  return {
    version: `bulwark/${BULWARK_VERSION}`,
    state,
    uptime_current_epoch: uptime,
    // No hot restart: the current epoch is the only one.
    uptime_all_epochs: uptime,
    command_line_options: {
      concurrency: options.concurrency,
      drain_time: duration(options.drainTimeMs),
      mode: 'Serve',
      disable_hot_restart: true,
    },
    node,
  };
}
