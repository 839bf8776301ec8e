import type { HealthStatus } from '../../model/cluster.js';

/** One endpoint of a cluster with the state balancing, health checking and outlier detection keep on it. */
export class Host {
  activeRequests = 0;
  activeConnections = 0;
  /** Health as EDS / the config reports it; UNHEALTHY and DRAINING hosts are never chosen outside panic. */
  edsHealth: HealthStatus = 'UNKNOWN';
  /** Set while active health checking reports the host down. */
  failedActiveHealthCheck = false;
  /** Outlier detection: epoch ms until which the host is ejected (0 = not ejected). */
  ejectedUntil = 0;
  /** Times ejected recently; multiplies the next ejection time (Envoy's num_ejections). */
  ejectionCount = 0;
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  /** Connect failures, resets and timeouts in a row, when they are counted apart (splitExternalLocalOriginErrors). */
  consecutiveLocalOriginFailure = 0;
  /** The locality's priority: level 0 takes the traffic while it has a usable host, then 1, and so on. */
  priority = 0;
  /**
   * The name a route with autoHostRewrite sends as Host: the endpoint's hostname, or a DNS cluster's
   * name for the endpoint; '' when there is none (the Host header is then left as it is).
   */
  hostname = '';
  // Envoy's per-host counters, as admin /clusters reports them.
  /** Connections opened to the host. */
  connectionsTotal = 0;
  connectFailures = 0;
  /** Responses below 500 (with requestErrors: every attempt that ended with an outcome). */
  requestsSucceeded = 0;
  /** 5xx responses, resets, timeouts and connect failures. */
  requestErrors = 0;
  requestTimeouts = 0;
  /** Chosen by the load balancer's current candidate set (maintained by ClusterState). */
  selectable = true;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly key: string,
    public weight: number,
  ) {}

  /** Healthy as far as configuration and active checks say (ejection is time-based, see ClusterState). */
  get healthy(): boolean {
    return !this.failedActiveHealthCheck && this.edsHealth !== 'UNHEALTHY' && this.edsHealth !== 'DRAINING';
  }
}
