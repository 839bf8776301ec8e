import type { Cluster } from '../../model/cluster.js';
import type { Host } from './host.js';

/** Picks a host for each request from the cluster's current candidates. */
export interface LoadBalancer {
  /**
   * The candidate set changed (membership, health, ejection or panic). `all` is every host in a stable
   * order, `candidates` the ones that may be chosen now (each has `selectable` set); `membershipChanged`
   * says whether `all` itself changed, for balancers that build structures over it.
   */
  refresh(all: readonly Host[], candidates: readonly Host[], membershipChanged: boolean): void;
  /** A host from the candidates, or undefined when there are none. */
  choose(hashKey: string | undefined): Host | undefined;
}

export type LoadBalancerFactory = (cluster: Cluster) => LoadBalancer;

/** True when weights differ, so balancers can take their cheaper unweighted path otherwise. */
export function weightsDiffer(hosts: readonly Host[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i]!.weight !== hosts[0]!.weight) return true;
  return false;
}
