import type { Milliseconds } from './duration.js';
import type { HeaderMatcher } from './route.js';

/** Envoy's FractionalPercent: numerator out of 100, 10 000 or 1 000 000 (a numerator past it is 100 %). */
export interface FractionalPercent {
  numerator: number;
  denominator: 100 | 10_000 | 1_000_000;
}

/** Envoy's FaultDelay: a fixed delay, or one a request names in x-envoy-fault-delay-request (headerDelay). */
export interface FaultDelay {
  fixedDelay?: Milliseconds;
  headerDelay: boolean;
  percentage: FractionalPercent;
}

/** Envoy's FaultAbort: exactly one of httpStatus, grpcStatus, headerAbort (x-envoy-fault-abort-request and -grpc-request). */
export interface FaultAbort {
  httpStatus?: number;
  grpcStatus?: number;
  headerAbort: boolean;
  percentage: FractionalPercent;
}

/** Envoy's HTTPFault (envoy.filters.http.fault), at the filter level or per route. */
export interface HttpFault {
  delay?: FaultDelay;
  abort?: FaultAbort;
  /** Faults only for requests routed to this cluster. */
  upstreamCluster?: string;
  /** Faults only for requests matching all of these. */
  headers: HeaderMatcher[];
  /** Faults only for requests whose x-envoy-downstream-service-node is one of these (all when empty). */
  downstreamNodes: string[];
  /** Faults active at once (delays under way, aborts being answered); absent: no limit. */
  maxActiveFaults?: number;
}

/** A per-route (virtual host, route configuration) fault, under the filter name it configures. */
export interface PerFilterFault {
  filterName: string;
  fault: HttpFault;
}
