import type { OutlierDetection } from '../../model/cluster.js';
import type { UpstreamOutcome } from '../clusters/upstream-cluster.js';
import type { Host } from './host.js';

/**
 * Passive health: consecutive 5xx and consecutive gateway failures, each enforced at its configured
 * percentage, eject a host
 * for baseEjectionTime × its recent ejection count, capped at maxEjectionTime, as Envoy does. Local
 * failures (connect failure, reset, timeout) count as 503s. maxEjectionPercent bounds how much of the
 * cluster can be out at once, but one host can always be ejected.
 */
export class OutlierDetector {
  ejectionsTotal = 0;

  constructor(private config: OutlierDetection) {}

  update(config: OutlierDetection): void {
    this.config = config;
  }

  /**
   * Records an outcome; returns true when it ejected the host. `mayEject` false: an outcome another
   * worker saw (and judged there), counted here so the consecutive counts span every worker.
   */
  record(host: Host, outcome: UpstreamOutcome, hosts: readonly Host[], now: number, mayEject = true): boolean {
    const c = this.config;
    if (!mayEject) {
      this.count(host, outcome);
      return false;
    }
    if (typeof outcome !== 'number' && c.splitExternalLocalOriginErrors) {
      // A failure of the proxy's own attempt (connect, reset, timeout), kept apart from what the host answered.
      host.consecutiveLocalOriginFailure++;
      if (c.consecutiveLocalOriginFailure === 0 || host.consecutiveLocalOriginFailure < c.consecutiveLocalOriginFailure) return false;
      host.consecutiveLocalOriginFailure = 0;
      return enforced(c.enforcingConsecutiveLocalOriginFailure) && this.eject(host, hosts, now);
    }
    const status = typeof outcome === 'number' ? outcome : 503;
    if (c.splitExternalLocalOriginErrors) host.consecutiveLocalOriginFailure = 0;
    if (status < 500) {
      host.consecutive5xx = 0;
      host.consecutiveGatewayFailure = 0;
      return false;
    }
    host.consecutive5xx++;
    if (status === 502 || status === 503 || status === 504) host.consecutiveGatewayFailure++;
    else host.consecutiveGatewayFailure = 0;
    // A tripped detector resets its count whether or not its enforcement percentage lets it eject.
    let eject = false;
    if (c.consecutive5xx > 0 && host.consecutive5xx >= c.consecutive5xx) {
      host.consecutive5xx = 0;
      eject = enforced(c.enforcingConsecutive5xx);
    }
    if (c.consecutiveGatewayFailure > 0 && host.consecutiveGatewayFailure >= c.consecutiveGatewayFailure) {
      host.consecutiveGatewayFailure = 0;
      eject ||= enforced(c.enforcingConsecutiveGatewayFailure);
    }
    return eject && this.eject(host, hosts, now);
  }

  /** The count an outcome makes, without ejecting: a tripped count starts over, as it would here. */
  private count(host: Host, outcome: UpstreamOutcome): void {
    const c = this.config;
    if (typeof outcome !== 'number' && c.splitExternalLocalOriginErrors) {
      host.consecutiveLocalOriginFailure++;
      if (c.consecutiveLocalOriginFailure > 0 && host.consecutiveLocalOriginFailure >= c.consecutiveLocalOriginFailure) host.consecutiveLocalOriginFailure = 0;
      return;
    }
    const status = typeof outcome === 'number' ? outcome : 503;
    if (c.splitExternalLocalOriginErrors) host.consecutiveLocalOriginFailure = 0;
    if (status < 500) {
      host.consecutive5xx = 0;
      host.consecutiveGatewayFailure = 0;
      return;
    }
    host.consecutive5xx++;
    if (status === 502 || status === 503 || status === 504) host.consecutiveGatewayFailure++;
    else host.consecutiveGatewayFailure = 0;
    if (c.consecutive5xx > 0 && host.consecutive5xx >= c.consecutive5xx) host.consecutive5xx = 0;
    if (c.consecutiveGatewayFailure > 0 && host.consecutiveGatewayFailure >= c.consecutiveGatewayFailure) host.consecutiveGatewayFailure = 0;
  }

  private eject(host: Host, hosts: readonly Host[], now: number): boolean {
    const c = this.config;
    if (host.ejectedUntil > now || !this.mayEject(hosts, now)) return false;
    host.ejectionCount++;
    host.ejectedUntil = now + Math.min(c.baseEjectionTime * host.ejectionCount, Math.max(c.maxEjectionTime, c.baseEjectionTime));
    this.ejectionsTotal++;
    return true;
  }

  /** Envoy's interval sweep: hosts that stayed in for an interval earn back one ejection of credit. */
  sweep(hosts: readonly Host[], now: number): void {
    for (const h of hosts) if (h.ejectedUntil <= now && h.ejectionCount > 0 && now - h.ejectedUntil >= this.config.interval) h.ejectionCount--;
  }

  get interval(): number {
    return this.config.interval;
  }

  /** Whether one more host may be out under maxEjectionPercent (one host always may). */
  mayEject(hosts: readonly Host[], now: number): boolean {
    let ejected = 0;
    for (const h of hosts) if (h.ejectedUntil > now) ejected++;
    if (ejected === 0) return true;
    return ((ejected + 1) * 100) / hosts.length <= this.config.maxEjectionPercent;
  }
}

/** Envoy's enforcing_* percentages: 100 always, 0 never, in between by chance. */
function enforced(percent: number): boolean {
  return percent >= 100 || (percent > 0 && Math.random() * 100 < percent);
}

/** Hosts ejected at `now`. */
export function countEjected(hosts: readonly Host[], now: number): number {
  let n = 0;
  for (const h of hosts) if (h.ejectedUntil > now) n++;
  return n;
}
