import type { ConfigUpdateCounts } from './admin/envoy-server-stats.js';

/**
 * The config updates the proxy applied and refused: its first config, then each reload. The static
 * file stands for Envoy's LDS and CDS, so both report these (listener_manager.lds.update_success, ...).
 */
export class ConfigUpdates implements ConfigUpdateCounts {
  accepted = 0;
  rejected = 0;

  /** Counts one update by its outcome: the refusal's message, or undefined when it was applied. */
  count(error: string | undefined): void {
    if (error === undefined) this.accepted++;
    else this.rejected++;
  }

  /** /reset_counters: Envoy's update_success and update_rejected are counters, so they restart too. */
  reset(): void {
    this.accepted = 0;
    this.rejected = 0;
  }
}
