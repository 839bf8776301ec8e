import type { Socket } from 'node:net';
import type { Cluster } from '../../model/cluster.js';
import type { H1ConnectionPool } from '../http/h1-connection-pool.js';
import type { H2Session } from '../http/h2-upstream-session.js';
import type { ClusterRequestStats } from '../upstream/cluster-request-stats.js';

/** One endpoint as the data path sees it; the load balancer's Host satisfies it. */
export interface UpstreamHost {
  readonly address: string;
  readonly port: number;
  readonly key: string;
  /** What autoHostRewrite sends as Host; '' when the endpoint has no name. */
  readonly hostname: string;
  activeRequests: number;
}

/** What happened to a request on a host, for outlier detection. */
export type UpstreamOutcome = number | 'connect-failure' | 'reset' | 'timeout';

export type BreakerKind = 'connections' | 'pending' | 'requests' | 'retries';

/** A cluster as the router uses it: host choice, pools, circuit breakers, outcomes. */
export interface UpstreamCluster {
  readonly name: string;
  readonly model: Cluster;
  /** True when requests to this cluster travel over HTTP/2 (gRPC needs it). */
  readonly http2: boolean;
  /** Request counts the data path adds to (Envoy's upstream_rq_* stats). */
  readonly requestStats: ClusterRequestStats;
  chooseHost(hashKey: string | undefined): UpstreamHost | undefined;
  h1Pool(host: UpstreamHost): H1ConnectionPool;
  h2Session(host: UpstreamHost): H2Session;
  /** A raw transport to the host (TCP proxying), plain or TLS as the cluster says; undefined when the maxConnections breaker refuses one. */
  connectTcp(host: UpstreamHost): Socket | undefined;
  readonly tcpReadyEvent: 'connect' | 'secureConnect';
  tryAcquire(kind: BreakerKind): boolean;
  release(kind: BreakerKind): void;
  recordOutcome(host: UpstreamHost, outcome: UpstreamOutcome): void;
  /** Counts a retry sent to the cluster (Envoy's upstream_rq_retry). */
  countRetry(): void;
  /** Counts an interim (1xx) response dropped past the per-request bound (see interim-responses.ts). */
  countDroppedInterimResponse(): void;
}

/** Finds clusters by name; the set is swapped atomically on config changes. */
export interface ClusterLookup {
  get(name: string): UpstreamCluster | undefined;
}
