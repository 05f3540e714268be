// A running upstream cluster: its hosts (from load_assignment, DNS or EDS), their load balancer
// and connection pools, and its stats. Host objects and pools survive updates for hosts that did
// not change, so a config push never drops warm connections.
import type { Pool } from 'undici';
import type { Cluster, ClusterLoadAssignment } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import { createLoadBalancer } from './lb/index.ts';
import type { LbContext, LoadBalancer } from './lb/host.ts';
import { ClusterStats } from './cluster-stats.ts';
import { HEALTH_FLAG, Host } from './host.ts';
import { createPool } from './pool.ts';

export class UpstreamCluster {
  config: Cluster;
  readonly stats: ClusterStats;
  hosts: Host[] = [];
  retriesActive = 0; // retries waiting or in flight, for the max_retries circuit breaker
  private lb: LoadBalancer & { refresh(): void };
  private readonly pools = new Map<string, Pool>();

  constructor(config: Cluster, store: Store) {
    this.config = config;
    this.stats = new ClusterStats(store, config.altStatName || config.name);
    this.lb = createLoadBalancer(config.lbPolicy, [], config);
    this.setAssignment(config.loadAssignment);
  }

  /** Replaces the host set; hosts whose endpoint did not change keep their object and state. */
  setAssignment(assignment: ClusterLoadAssignment): void {
    const previous = new Map(this.hosts.map((h) => [hostKey(h), h]));
    const next: Host[] = [];
    for (const locality of assignment.endpoints) {
      const localityKey = `${locality.locality.region}/${locality.locality.zone}/${locality.locality.subZone}`;
      for (const endpoint of locality.lbEndpoints) {
        const fresh = new Host(endpoint, locality.priority, localityKey, locality.loadBalancingWeight);
        const kept = previous.get(hostKey(fresh));
        if (kept !== undefined && kept.edsStatus === fresh.edsStatus) next.push(kept);
        else {
          // Active health-check and outlier state belong to the address, not the endpoint entry.
          if (kept !== undefined) fresh.healthFlags = (kept.healthFlags & ~HEALTH_FLAG.failedEdsHealth) | (fresh.healthFlags & HEALTH_FLAG.failedEdsHealth);
          next.push(fresh);
        }
      }
    }
    const live = new Set(next.map((h) => h.address));
    for (const [address, pool] of this.pools) {
      if (!live.has(address)) {
        this.pools.delete(address);
        void pool.close();
      }
    }
    const changed = next.length !== this.hosts.length || next.some((h, i) => h !== this.hosts[i]);
    this.hosts = next;
    if (changed) {
      this.stats.membershipChange.inc();
      this.lb = createLoadBalancer(this.config.lbPolicy, next, this.config);
    } else {
      this.stats.updateNoRebuild.inc();
    }
    this.updateMembership();
  }

  /** Call after a host's health flags changed. */
  healthChanged(): void {
    this.lb.refresh();
    this.updateMembership();
  }

  chooseHost(ctx?: LbContext): Host | null {
    return this.lb.chooseHost(ctx) as Host | null;
  }

  pool(host: Host): Pool {
    let pool = this.pools.get(host.address);
    if (pool === undefined) {
      pool = createPool(host, this.config, this.stats);
      this.pools.set(host.address, pool);
    }
    return pool;
  }

  hostByAddress(address: string): Host | undefined {
    return this.hosts.find((h) => h.address === address);
  }

  /** Stops new use; requests in flight finish on their pools. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }

  private updateMembership(): void {
    let healthy = 0;
    let degraded = 0;
    for (const h of this.hosts) {
      if (h.healthy()) healthy++;
      else if (h.degraded()) degraded++;
    }
    this.stats.membershipTotal.set(this.hosts.length);
    this.stats.membershipHealthy.set(healthy);
    this.stats.membershipDegraded.set(degraded);
  }
}

function hostKey(h: Host): string {
  return `${h.address}|${h.weight}|${h.priority}|${h.localityKey}|${h.localityWeight}`;
}
