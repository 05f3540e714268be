// What /clusters shows of a worker's clusters: hosts with weight, health and counters. Plain data,
// so it crosses IPC; the primary sums the counters of all workers.
import type { ClusterManager } from './cluster-manager.ts';
import type { HostStats } from './host.ts';

export interface HostStatus {
  address: string;
  hostname: string;
  weight: number;
  priority: number;
  locality: string;
  healthFlags: string;
  stats: HostStats;
}

export interface ClusterStatus {
  name: string;
  circuitBreakers: { priority: string; maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number }[];
  hosts: HostStatus[];
}

export function clusterStatuses(clusters: ClusterManager): ClusterStatus[] {
  const out: ClusterStatus[] = [];
  for (const c of clusters.all()) {
    out.push({
      name: c.config.name,
      circuitBreakers: c.config.circuitBreakers.map((b) => ({
        priority: b.priority,
        maxConnections: b.maxConnections,
        maxPendingRequests: b.maxPendingRequests,
        maxRequests: b.maxRequests,
        maxRetries: b.maxRetries,
      })),
      hosts: c.hosts.map((h) => ({
        address: h.address,
        hostname: h.hostname,
        weight: h.weight,
        priority: h.priority,
        locality: h.localityKey,
        healthFlags: h.healthFlagsText(),
        stats: { ...h.stats },
      })),
    });
  }
  return out;
}

/** Sums the host counters of the same cluster across workers. */
export function mergeClusterStatuses(perWorker: ClusterStatus[][]): ClusterStatus[] {
  const merged = new Map<string, ClusterStatus>();
  for (const list of perWorker) {
    for (const cluster of list) {
      const into = merged.get(cluster.name);
      if (into === undefined) {
        merged.set(cluster.name, structuredClone(cluster));
        continue;
      }
      for (const host of cluster.hosts) {
        const target = into.hosts.find((h) => h.address === host.address);
        if (target === undefined) {
          into.hosts.push(structuredClone(host));
          continue;
        }
        for (const key of Object.keys(host.stats) as (keyof HostStats)[]) target.stats[key] += host.stats[key];
      }
    }
  }
  return [...merged.values()];
}
