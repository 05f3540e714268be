// The worker's set of running clusters. An update diffs by name: an unchanged cluster is kept
// as is, a changed one is rebuilt but keeps the hosts (and pools) whose endpoints did not change,
// a removed one closes its pools once requests in flight are done. It also keeps the host health
// learned from outside the worker (active health checks, other workers' outlier ejections).
import type { Cluster, ClusterLoadAssignment } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import { UpstreamCluster } from './cluster.ts';
import { needsDns, resolveAssignment } from './dns.ts';

// Not an ESM import: that reads every export of node:util, loading what its lazy ones need.
const { isDeepStrictEqual } = process.getBuiltinModule('node:util');

/** An outlier ejection (ejected) or unejection decided in this worker. */
export type OutlierEjectionListener = (cluster: string, address: string, ejected: boolean) => void;

export class ClusterManager {
  private readonly clusters = new Map<string, UpstreamCluster>();
  private readonly dnsTimers = new Map<string, NodeJS.Timeout>();
  private readonly store: Store;
  private readonly log: (line: string) => void;
  private readonly activeHealth = new Map<string, Map<string, boolean>>(); // cluster -> address -> failed
  private ejectionListener: OutlierEjectionListener | undefined;

  constructor(store: Store, log: (line: string) => void) {
    this.store = store;
    this.log = log;
  }

  get(name: string): UpstreamCluster | undefined {
    return this.clusters.get(name);
  }

  all(): IterableIterator<UpstreamCluster> {
    return this.clusters.values();
  }

  /** Listens to the outlier ejections of every cluster, e.g. to tell the other workers. */
  onOutlierEjection(listener: OutlierEjectionListener): void {
    this.ejectionListener = listener;
  }

  /** Applies an outlier ejection or unejection another worker decided. */
  applyOutlierEjection(cluster: string, address: string, ejected: boolean): void {
    this.clusters.get(cluster)?.outlier?.applyRemote(address, ejected);
  }

  /** Applies an active health check result; it is kept for hosts and clusters created later. */
  setActiveHealth(cluster: string, address: string, failed: boolean): void {
    this.knownHealth(cluster).set(address, failed);
    this.clusters.get(cluster)?.setActiveHealth(address, failed);
  }

  /** Applies a new cluster set; resolves once DNS clusters have their first hosts (as Envoy's warming). */
  async update(configs: Cluster[]): Promise<void> {
    const wanted = new Map(configs.map((c) => [c.name, c]));
    for (const [name, running] of this.clusters) {
      if (!wanted.has(name)) {
        this.clusters.delete(name);
        this.activeHealth.delete(name);
        this.stopDns(name);
        void running.close();
      }
    }
    const warming: Promise<void>[] = [];
    for (const config of configs) {
      const running = this.clusters.get(config.name);
      if (running !== undefined && isDeepStrictEqual(running.config, config)) continue;
      if (running !== undefined && sameExceptEndpoints(running.config, config)) {
        running.config = config;
        if (!needsDns(config)) running.setAssignment(config.loadAssignment);
      } else {
        if (running !== undefined) void running.close();
        // A DNS cluster starts without hosts; its config keeps the names that DNS resolves.
        const initial = needsDns(config) ? { ...config, loadAssignment: { ...config.loadAssignment, endpoints: [] } } : config;
        const keepBreaker = running !== undefined && sameBreaker(running.config, config);
        const cluster = new UpstreamCluster(initial, this.store, {
          onEjection: (address, ejected) => this.ejectionListener?.(config.name, address, ejected),
          activeHealth: this.knownHealth(config.name),
          breaker: keepBreaker ? running.breaker : undefined,
        });
        cluster.config = config;
        this.clusters.set(config.name, cluster);
      }
      if (needsDns(config)) warming.push(this.startDns(config.name));
      else this.stopDns(config.name);
    }
    await Promise.all(warming);
  }

  /** New hosts for running clusters (EDS), as a changed config whose endpoints alone changed. */
  updateEndpoints(updates: { cluster: string; loadAssignment: ClusterLoadAssignment }[]): void {
    for (const { cluster: name, loadAssignment } of updates) {
      const running = this.clusters.get(name);
      if (running === undefined || needsDns(running.config)) continue;
      running.config = { ...running.config, loadAssignment };
      running.setAssignment(loadAssignment);
    }
  }

  private knownHealth(cluster: string): Map<string, boolean> {
    let known = this.activeHealth.get(cluster);
    if (known === undefined) {
      known = new Map();
      this.activeHealth.set(cluster, known);
    }
    return known;
  }

  async close(): Promise<void> {
    for (const name of this.dnsTimers.keys()) this.stopDns(name);
    await Promise.allSettled([...this.clusters.values()].map((c) => c.close()));
    this.clusters.clear();
  }

  private async startDns(name: string): Promise<void> {
    this.stopDns(name);
    const refresh = async (): Promise<void> => {
      const cluster = this.clusters.get(name);
      if (cluster === undefined) return;
      try {
        cluster.setAssignment(await resolveAssignment(cluster.config));
      } catch (err) {
        this.log(`cluster '${name}': DNS resolution failed (${(err as Error).message}); keeping the last hosts`);
      }
    };
    await refresh();
    const cluster = this.clusters.get(name);
    if (cluster === undefined) return;
    const timer = setInterval(refresh, cluster.config.dnsRefreshRateMs);
    timer.unref();
    this.dnsTimers.set(name, timer);
  }

  private stopDns(name: string): void {
    const timer = this.dnsTimers.get(name);
    if (timer !== undefined) clearInterval(timer);
    this.dnsTimers.delete(name);
  }
}

/** Same thresholds under the same stat name: the breaker's counts stay valid across a rebuild. */
function sameBreaker(a: Cluster, b: Cluster): boolean {
  return (a.altStatName || a.name) === (b.altStatName || b.name) && isDeepStrictEqual(a.circuitBreakers[0], b.circuitBreakers[0]);
}

function sameExceptEndpoints(a: Cluster, b: Cluster): boolean {
  return isDeepStrictEqual({ ...a, loadAssignment: null }, { ...b, loadAssignment: null });
}
