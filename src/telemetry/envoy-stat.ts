/**
 * Envoy's own stats, by their dotted names (`server.state`, `cluster.NAME.upstream_rq_total`), as
 * Envoy's /stats lists them and as pilot-agent and Envoy dashboards read them. They are computed for
 * each admin request from Bulwark's merged metrics and the proxy's state (proxy/admin/envoy-*-stats.ts).
 */

/** One Envoy stat. */
export interface EnvoyStat {
  /** The dotted name, e.g. `cluster.backend.upstream_rq_200`. */
  name: string;
  type: 'counter' | 'gauge';
  value: number;
  /**
   * Envoy's "used" flag for `?usedonly`: a counter or gauge that was ever written. A gauge Envoy sets
   * whatever its value (server.state, membership_total) is used at 0 too; otherwise a value that is
   * not zero reads as used.
   */
  set?: boolean;
}

/** Whether `?usedonly` keeps the stat. */
export function isUsed(stat: EnvoyStat): boolean {
  return stat.set === true || stat.value !== 0;
}

/** Envoy's stat name sanitising: `:` is reserved (statsd), so an address `127.0.0.1:80` becomes `127.0.0.1_80`. */
export function statNameSegment(text: string): string {
  return text.replaceAll(':', '_');
}
