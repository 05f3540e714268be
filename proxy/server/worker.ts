// The serving half of Legate: a worker owns listeners, connection managers, clusters and their
// pools. It takes whole snapshots from the primary, compiles them once and swaps them in; requests
// in flight keep what they started with. In --workers 1 it lives in the primary's process.
import type { EmbeddedRateLimitService, FilterChain, HttpFilter, InternalListenerSettings, Listener, OverloadManagerConfig, RouteConfig, RuntimeLayerConfig } from '../config/model.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { HttpConnectionManagerHandler, loadHttpFilters, withNetworkExtAuthz, withNetworkPeerExchange, type FilterNode, type HcmContext } from '../http/index.ts';
import { ListenerManager, type ChainHandler } from '../listener/index.ts';
import { RouteTable } from '../router/index.ts';
import { compileTemplate, flushAllSinks, reopenFileSinks, type StreamInfo } from '../access-log/index.ts';
import { Store, type StatsSnapshot } from '../stats/index.ts';
import { createStatsdSink, sendHistogramsTo, type StatsSink, type StatsdSinkConfig } from '../stats/sinks/index.ts';
import type { StatsConfig } from '../config/index.ts';
import { compileStatsSettings } from './stats-settings.ts';
import { TcpProxyHandler } from '../tcp/index.ts';
import { closeTracers } from '../tracing/index.ts';
import { createRateLimitService, type RateLimitService } from '../ratelimit/index.ts';

import { ClusterManager, clusterStatuses, type ClusterStatus } from '../upstream/index.ts';
import { OverloadManager } from '../overload/index.ts';
import { internalListeners } from '../transport/index.ts';
import { runtime } from '../runtime/index.ts';
import { WorkloadIndex } from '../istio/workload-index.ts';

import type { ApplyResult, EndpointUpdate, HostHealthUpdate } from './messages.ts';
import { applySnapshotDelta, type SnapshotDelta } from './snapshot-delta.ts';

// Not an ESM import: that reads every export of node:util, loading what its lazy ones need.
const { isDeepStrictEqual } = process.getBuiltinModule('node:util');

export interface WorkerOptions {
  mode: 'ingress' | 'sidecar';
  reusePort: boolean;
  drainTimeMs: number;
  log(line: string): void;
  /** Worker processes in all (local rate limit buckets are split between them). */
  workers: number;
  /** node.cluster: Envoy's local service cluster. */
  localCluster: string;
  /** node.metadata["legate.ratelimit"]: each worker runs the service, sharing Redis. */
  rateLimitService?: EmbeddedRateLimitService;
  /** node.id, the locality's zone and the bootstrap's tracing.http, for traced connection managers. */
  tracing?: HcmContext['tracing'];
  /** The bootstrap's overload_manager and layered_runtime (static: a SIGHUP does not change them). */
  overload?: OverloadManagerConfig;
  runtimeLayers?: RuntimeLayerConfig[];
  /** The bootstrap's node: Istio's filters read its id and metadata. */
  node?: FilterNode;
  /** The bootstrap's stats sinks: each histogram value goes to them as it is recorded here. */
  statsSinks?: { sinks: StatsdSinkConfig[]; statsConfig?: StatsConfig };
  /** The bootstrap's envoy.bootstrap.internal_listener: without it no internal connection is made. */
  internalListener?: InternalListenerSettings;
}

/** The WorkerOptions a forked worker receives from the primary as JSON (LEGATE_FILTER_CONTEXT). */
export type FilterSettings = Pick<WorkerOptions, 'workers' | 'localCluster' | 'rateLimitService' | 'overload' | 'runtimeLayers' | 'tracing' | 'node' | 'statsSinks' | 'internalListener'>;

export class Worker {
  readonly store = new Store();
  readonly clusters: ClusterManager;
  /** Istio's workload discovery: who is at an address, for the peer metadata readers. */
  readonly workloads = new WorkloadIndex();
  private readonly listeners: ListenerManager;
  private readonly options: WorkerOptions;
  private routeTables = new Map<string, { config: RouteConfig; table: RouteTable<StreamInfo> }>();
  private readonly hcmContext: HcmContext;
  private readonly rateLimit: RateLimitService | undefined;
  readonly overload: OverloadManager;
  private readonly statsSinks: StatsSink[] = [];
  version = 0;
  /** Admin /healthcheck/fail is in force: health checks fail, responses close their connections. */
  private healthCheckFailed = false;
  private current: Snapshot | null = null; // the snapshot applied last, which deltas start from

  constructor(options: WorkerOptions) {
    this.options = options;
    this.clusters = new ClusterManager(this.store, options.log);
    runtime.configure(options.runtimeLayers ?? []);
    internalListeners.configure(options.internalListener?.bufferSizeBytes);
    this.overload = new OverloadManager(options.overload, { store: this.store, workers: options.workers });
    this.overload.start();
    if (options.statsSinks !== undefined) {
      const settings = compileStatsSettings(options.statsSinks.statsConfig);
      this.statsSinks = options.statsSinks.sinks.map((config) => createStatsdSink(config, settings));
      sendHistogramsTo(this.store, this.statsSinks, settings);
    }
    this.listeners = new ListenerManager(this.store, options.reusePort, options.drainTimeMs, options.log, this.overload);
    this.rateLimit = options.rateLimitService === undefined ? undefined : createRateLimitService(options.rateLimitService, this.store, options.log);
    this.hcmContext = {
      store: this.store,
      clusters: this.clusters,
      routeTable: (name) => this.routeTables.get(name)?.table,
      meshRetries: options.mode === 'sidecar',
      log: options.log,
      workers: options.workers,
      localCluster: options.localCluster,
      rateLimitService: this.rateLimit,
      tracing: options.tracing,
      overload: this.overload,
      node: options.node,
      workloads: this.workloads,
      healthCheckFailed: () => this.healthCheckFailed,
    };
  }

  /** Clusters first (they warm), then route tables, then listeners: a listener never sees a half-applied set. */
  async apply(snapshot: Snapshot): Promise<ApplyResult> {
    await loadHttpFilters(httpFiltersOf(snapshot.listeners));
    await this.clusters.update(snapshot.clusters);
    const tables = new Map<string, { config: RouteConfig; table: RouteTable<StreamInfo> }>();
    for (const [name, config] of Object.entries(snapshot.routeConfigs)) {
      const previous = this.routeTables.get(name);
      tables.set(name, previous !== undefined && isDeepStrictEqual(previous.config, config) ? previous : { config, table: new RouteTable(config, compileTemplate) });
    }
    this.routeTables = tables;
    await this.listeners.update(snapshot.listeners, (chain, listener) => this.chainHandler(chain, listener));
    this.version = snapshot.version;
    this.current = snapshot;
    return { version: snapshot.version, listeners: this.listeners.bound() };
  }

  /** A delta from the snapshot applied last (a forked worker's updates after its first). */
  applyDelta(delta: SnapshotDelta): Promise<ApplyResult> {
    if (this.current === null) throw new Error('a snapshot delta before any snapshot');
    return this.apply(applySnapshotDelta(this.current, delta));
  }

  /** New hosts for some clusters (an EDS update): no cluster, route table or listener is rebuilt. */
  applyEndpoints(version: number, updates: EndpointUpdate[]): void {
    this.clusters.updateEndpoints(updates);
    this.version = version;
    if (this.current === null) return;
    const hosts = new Map(updates.map((u) => [u.cluster, u.loadAssignment]));
    const clusters = this.current.clusters.map((c) => (hosts.has(c.name) ? { ...c, loadAssignment: hosts.get(c.name)! } : c));
    this.current = { ...this.current, version, clusters };
  }

  stats(): StatsSnapshot {
    return this.store.snapshot();
  }

  clusterStatuses(): ClusterStatus[] {
    return clusterStatuses(this.clusters);
  }

  applyHostHealth(updates: HostHealthUpdate[]): void {
    for (const u of updates) {
      if (u.source === 'active') this.clusters.setActiveHealth(u.cluster, u.address, u.unhealthy);
      else this.clusters.applyOutlierEjection(u.cluster, u.address, u.unhealthy);
    }
  }

  /** The admin layer of the runtime, as the primary holds it (after a /runtime_modify). */
  setRuntimeAdminLayer(values: Record<string, string>): void {
    runtime.setAdminValues(values);
  }

  setHealthCheckFailed(failed: boolean): void {
    this.healthCheckFailed = failed;
  }

  stopAccepting(): void {
    this.listeners.stopAccepting();
  }

  async drain(timeoutMs: number): Promise<void> {
    this.overload.stop();
    await this.listeners.drain(timeoutMs);
    await closeTracers(this.clusters); // what the span reporters hold goes out while the pools are up
    await this.clusters.close();
    await this.rateLimit?.close();
    await flushAllSinks();
    for (const sink of this.statsSinks) sink.close();
  }

  /** Envoy's /reopen_logs: access log files are reopened (after log rotation). */
  reopenLogs(): Promise<void> {
    return reopenFileSinks();
  }

  private chainHandler(chain: FilterChain, listener: Listener): ChainHandler {
    return withNetworkExtAuthz(this.terminalHandler(chain, listener), chain.extAuthz, this.store, this.clusters);
  }

  private terminalHandler(chain: FilterChain, listener: Listener): ChainHandler {
    const network = chain.network;
    if (network.kind === 'http_connection_manager') {
      // bypass_overload_manager: the listener's connection managers see no overload action;
      // drain_type MODIFY_ONLY: /healthcheck/fail does not close their connections.
      const ctx = listener.bypassOverloadManager === true ? { ...this.hcmContext, overload: undefined } : this.hcmContext;
      const hcm = new HttpConnectionManagerHandler(network, listener.drainType === undefined ? ctx : { ...ctx, drainType: listener.drainType });
      return network.metadataExchange === undefined ? hcm : withNetworkPeerExchange(hcm, network.metadataExchange, ctx.node);
    }
    return new TcpProxyHandler(network, { store: this.store, clusters: this.clusters, log: this.options.log, node: this.options.node, workloads: this.workloads });
  }
}

/** Every HTTP filter the listeners' connection managers name (their implementations load on first use). */
function httpFiltersOf(listeners: readonly Listener[]): HttpFilter[] {
  const chains = listeners.flatMap((l) => (l.defaultFilterChain === undefined ? l.filterChains : [...l.filterChains, l.defaultFilterChain]));
  return chains.flatMap((c) => (c.network.kind === 'http_connection_manager' ? c.network.httpFilters : []));
}
