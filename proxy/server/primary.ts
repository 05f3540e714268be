// The deciding half of Legate: it owns the config (bootstrap now; files and xDS later), builds
// snapshots and hands them to the workers, runs the admin server and merges the workers' stats.
// With one worker the worker lives in this process; with more, node:cluster children serve.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Cluster, Node, SdsServer } from '../config/model.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { loadBootstrap, type BootstrapConfig, type BootstrapOptions } from '../config/index.ts';
import { DEFAULT_STATS_SETTINGS, Store, mergeSnapshots, type MergedStats, type StatsSettings } from '../stats/index.ts';
import { AdminServer, type AdminContext, type XdsStatus } from '../admin/index.ts';
import { HealthCheckManager, mergeClusterStatuses, type ClusterStatus } from '../upstream/index.ts';
import { ClusterWorkerHandle, LocalWorkerHandle, type WorkerHandle } from './worker-handle.ts';
import type { ApplyResult, EndpointUpdate, HostHealthUpdate } from './messages.ts';
import type { FilterSettings } from './worker.ts';
import { enableCompileCache, flushCompileCache } from './compile-cache.ts';
import { collectAfterStart } from './v8-heap.ts';
import { workerExecArgv } from './v8-flags.ts';
import { releaseFreeMemoryPeriodically } from '../allocator/index.ts';
import { reservePorts } from './port-reservation.ts';
import { checkRunAs, dropPrivileges, runAsEnv, type RunAs } from './privileges.ts';
import { withSidecarDefaults } from './sidecar.ts';
import { originalDstUnavailableMessage } from '../listener/index.ts';
import type { DynamicConfigSource, SnapshotParts } from './dynamic-config.ts';
import type { WorkloadDiscovery } from './workload-discovery.ts';
import type { WorkloadUpdate } from '../istio/workload-index.ts';
import type { SecretFiles } from './secret-files.ts';
import { envoyConfigDump } from './config-dump.ts';
import { compileStatsSettings } from './stats-settings.ts';
import type { StatsFlusher } from '../stats/sinks/index.ts';
import { primaryStatsFlusher, workerStatsSinks } from './stats-sinks.ts';
import { connectionLimitWarning, globalConnectionLimit, type GlobalConnectionLimit } from '../overload/index.ts';
import { runtime, type RuntimeJson } from '../runtime/index.ts';

export interface RunOptions {
  configPath: string;
  workers: number;
  mode: 'ingress' | 'sidecar';
  drainTimeMs: number;
  reusePort: boolean;
  /** --uid/--gid: serve as this user once listeners and admin are bound. */
  runAs?: RunAs;
  /** Envoy's --config-yaml and --allow-unknown-static-fields. */
  bootstrap?: BootstrapOptions;
  /** --spare-worker: keep a started worker process in reserve to replace one that dies (costs a process). */
  spareWorker?: boolean;
  log(line: string): void;
}

const WORKER_ENTRY = fileURLToPath(new URL('./worker-main.ts', import.meta.url));

export class Primary implements AdminContext {
  readonly options: RunOptions;
  readonly store = new Store();
  readonly startTime = Date.now();
  node!: Node;
  admin: AdminServer | null = null;
  snapshot!: Snapshot;
  applied: ApplyResult | null = null;
  healthCheckFailed = false;
  state: 'INITIALIZING' | 'LIVE' | 'DRAINING' = 'INITIALIZING';
  private handles: WorkerHandle[] = [];
  private filterSettings: FilterSettings = { workers: 1, localCluster: '' };
  private stopping: Promise<void> | null = null;
  private spare: ClusterWorkerHandle | null = null;
  private dynamic: DynamicConfigSource | null = null;
  private workloads: WorkloadDiscovery | null = null; // Istio's workload discovery, with its bootstrap extension
  private secretFiles: SecretFiles | null = null; // SDS sources, when a TLS context names one
  private bootClusters: readonly Cluster[] = []; // the bootstrap's static clusters (how SDS servers are reached)
  private bootRaw: Record<string, unknown> = {}; // the bootstrap as loaded, for /config_dump
  private bootLoadedAt = 0;
  statsSettings: StatsSettings = DEFAULT_STATS_SETTINGS; // stats_config, for the admin's stats output
  private lastParts: SnapshotParts | null = null; // what the last update was given, before SDS resolution
  private updating: Promise<void> = Promise.resolve();
  private readonly healthChecks: HealthCheckManager;
  private quickCrashes = 0;
  private originalDstWarned = false;
  private clusterAt: { clusters: readonly Cluster[]; at: Map<string, number> } | null = null;
  private statsFlusher: StatsFlusher | null = null; // only with stats_sinks

  constructor(options: RunOptions) {
    this.options = options;
    this.healthChecks = new HealthCheckManager({ store: this.store, log: options.log });
  }

  /** Loads the bootstrap, starts the workers and the admin; rejects with a one-line error. */
  async start(): Promise<void> {
    if (this.options.runAs !== undefined) checkRunAs(this.options.runAs);
    const { boot, added } = this.loadBootstrap();
    for (const w of boot.warnings) this.options.log(`warning: ${w}`);
    if (added.length > 0) this.options.log(`sidecar mode added ${added.join(', ')}`);
    this.node = boot.node;
    // A bad limits file or redis_url is a start-up error here, not a crash loop in every worker.
    if (boot.rateLimitService !== undefined) (await import('../ratelimit/index.ts')).checkRateLimitService(boot.rateLimitService);
    this.filterSettings = { workers: this.options.workers, localCluster: boot.node.cluster, rateLimitService: boot.rateLimitService, overload: boot.overloadManager, runtimeLayers: boot.runtimeLayers,
      node: { id: boot.node.id, metadata: boot.node.metadata }, internalListener: boot.internalListener,
      tracing: { nodeId: boot.node.id, zone: boot.node.locality?.zone ?? '', defaultProvider: boot.tracing },
      ...workerStatsSinks(boot) };
    runtime.configure(boot.runtimeLayers);
    const limitWarning = connectionLimitWarning(boot.overloadManager);
    if (limitWarning !== undefined) this.options.log(`warning: ${limitWarning}`);
    this.store.gauge('server.concurrency').set(this.options.workers);
    const multi = this.options.workers > 1;
    let initial = snapshotOf(boot, 1);
    this.bootClusters = boot.clusters;
    this.bootRaw = boot.raw;
    this.bootLoadedAt = Date.now();
    this.statsSettings = compileStatsSettings(boot.statsConfig);
    this.statsFlusher = await primaryStatsFlusher(boot, { settings: this.statsSettings, store: this.store, collect: () => this.stats(), log: this.options.log });
    if (hasSdsFiles(initial)) {
      const secrets = await this.secretSources();
      await secrets.watch(initial);
      initial = secrets.resolve(initial);
    }
    const reservation = multi && this.options.reusePort ? await reservePorts(initial) : null;
    this.snapshot = reservation?.snapshot ?? initial;
    this.handles = multi ? await this.forkWorkers(this.options.workers) : [await this.localWorker()];
    for (const h of this.handles) this.listenForOutliers(h);
    this.healthChecks.onChange((cluster, address, failed) => void this.broadcastHealth([{ source: 'active', cluster, address, unhealthy: failed }]));
    try {
      await this.applyToAll(this.snapshot);
    } finally {
      await reservation?.release();
    }
    this.lastParts = partsOf(boot);
    if (boot.admin.address !== undefined) {
      this.admin = new AdminServer(this, this.options.log);
      if (boot.admin.ignoreGlobalConnLimit !== true) this.admin.admitConnections(this.adminConnectionLimit(boot));
      await this.admin.listen(boot.admin.address);
    }
    // Before the control-plane stream: the primary's own connections must not be captured either.
    if (this.options.runAs !== undefined) dropPrivileges(this.options.runAs);
    if (hasDynamicResources(boot)) {
      // /ready stays 503 until the control plane's first complete config is applied. The xDS
      // client (gRPC and Envoy's protos) is loaded only by a primary that has a control plane.
      const { DynamicConfigSource } = await import('./dynamic-config.ts');
      const secrets = await this.secretSources();
      if (boot.workloadDiscovery === true) {
        const { WorkloadDiscovery } = await import('./workload-discovery.ts');
        this.workloads = new WorkloadDiscovery({ store: this.store, log: this.options.log, broadcast: (update) => this.broadcastWorkloads(update) });
      }
      this.dynamic = new DynamicConfigSource(boot, {
        store: this.store,
        log: this.options.log,
        update: (parts) => this.update(parts),
        updateEndpoints: (parts, clusters) => this.updateEndpoints(parts, clusters),
        secrets: (update) => secrets.adsUpdate(update),
        workloads: this.workloads ?? undefined,
      });
      this.dynamic.setSecretNames(secrets.adsNames(partsOf(boot)));
      await this.dynamic.start();
    }
    this.state = 'LIVE';
    collectAfterStart(); // what start-up left (Envoy's protos parsed, modules loaded), once settled
    releaseFreeMemoryPeriodically();
    this.store.gauge('server.live').set(this.healthCheckFailed ? 0 : 1); // /healthcheck/fail may come before
    this.statsFlusher?.start();
  }

  /** SIGHUP: re-read the bootstrap; a bad file keeps the running config. */
  async reload(): Promise<void> {
    if (this.dynamic !== null) {
      this.options.log('SIGHUP ignored: this bootstrap takes its resources from a control plane or files');
      return;
    }
    try {
      const { boot } = this.loadBootstrap();
      await this.update({ listeners: boot.listeners, clusters: boot.clusters, routeConfigs: boot.routeConfigs, versions: staticVersions() });
      this.bootRaw = boot.raw;
      this.bootLoadedAt = Date.now();
      this.options.log(`reloaded ${this.options.configPath} (snapshot ${this.snapshot.version})`);
    } catch (err) {
      this.options.log(`reload rejected, keeping the running config: ${(err as Error).message}`);
    }
  }

  /**
   * Makes the next snapshot from a complete, validated set of resources and applies it to every
   * worker. Updates are serialised: each one starts from the snapshot the previous one left.
   */
  update(parts: SnapshotParts): Promise<void> {
    this.lastParts = parts;
    const run = this.updating.then(async () => {
      if (this.secretFiles === null && hasSdsFiles(parts)) await this.secretSources();
      if (this.secretFiles !== null) {
        this.dynamic?.setSecretNames(this.secretFiles.adsNames(parts));
        await this.secretFiles.watch(parts);
        parts = this.secretFiles.resolve(parts);
      }
      const next = keepBoundPorts({ version: this.snapshot.version + 1, ...parts }, this.snapshot);
      await this.applyToAll(next);
      this.snapshot = next;
      collectAfterStart(); // until the first one ran: a control plane's first config comes after start()
    });
    this.updating = run.catch(() => undefined);
    return run;
  }

  /**
   * Only these clusters' load assignments changed since the last update (an EDS update): each
   * worker gets their new hosts, and the snapshot the next full update starts from has them.
   */
  updateEndpoints(parts: SnapshotParts, changed: Cluster[]): Promise<void> {
    this.lastParts = parts;
    const run = this.updating.then(async () => {
      const clusters = [...this.snapshot.clusters];
      const at = this.clusterIndex(this.snapshot.clusters);
      const updates: EndpointUpdate[] = [];
      for (const cluster of changed) {
        const i = at.get(cluster.name);
        // Not served (it waits for a secret) or served as another version: the update that brings it has these hosts.
        if (i === undefined || serviceOf(clusters[i]) !== serviceOf(cluster)) continue;
        clusters[i] = { ...clusters[i], loadAssignment: cluster.loadAssignment };
        this.secretFiles?.served(clusters[i]);
        updates.push({ cluster: cluster.name, loadAssignment: cluster.loadAssignment });
      }
      const next = { ...this.snapshot, version: this.snapshot.version + 1, clusters, versions: parts.versions };
      await Promise.all(this.handles.map((h) => h.endpoints(next, updates)));
      this.snapshot = next;
      this.clusterAt = { clusters, at }; // the same positions
      this.store.counter('cluster_manager.cluster_updated').inc(updates.length);
      if (changed.some((c) => c.healthChecks.length > 0)) this.healthChecks.update(next.clusters);
    });
    this.updating = run.catch(() => undefined);
    return run;
  }

  /** Where each cluster of a snapshot is, by name; kept while host updates leave the positions as they are. */
  private clusterIndex(clusters: readonly Cluster[]): Map<string, number> {
    if (this.clusterAt?.clusters !== clusters) this.clusterAt = { clusters, at: new Map(clusters.map((c, i) => [c.name, i])) };
    return this.clusterAt.at;
  }

  /**
   * The SDS sources, made on first need: loaded only then, since they bring the xDS client's file
   * watcher, gRPC and protos. SDS servers are reached through the bootstrap's static clusters.
   */
  private async secretSources(): Promise<SecretFiles> {
    if (this.secretFiles !== null) return this.secretFiles;
    const [{ SecretFiles }, { grpcTarget, nodeInfo }] = await Promise.all([import('./secret-files.ts'), import('./grpc-target.ts')]);
    const clusters = this.bootClusters;
    const servers = { node: nodeInfo(this.node), target: (server: SdsServer) => grpcTarget(server.grpcService, clusters, 'sds_config.api_config_source') };
    this.secretFiles = new SecretFiles({ store: this.store, log: this.options.log, onChange: () => this.secretsChanged(), servers });
    return this.secretFiles;
  }

  /** An SDS file brought new secrets: the same resources again, with them. */
  private secretsChanged(): void {
    const parts = this.lastParts;
    if (parts === null || this.stopping !== null) return; // the start applies what loaded first
    this.update(parts).catch((err: Error) => this.options.log(`SDS update not applied, keeping the running config: ${err.message}`));
  }

  /** The bootstrap file, with the sidecar's defaults in sidecar mode. */
  private loadBootstrap(): { boot: BootstrapConfig; added: string[] } {
    const boot = loadBootstrap(this.options.configPath, this.options.bootstrap);
    return this.options.mode === 'sidecar' ? withSidecarDefaults(boot) : { boot, added: [] };
  }

  private async applyToAll(snapshot: Snapshot): Promise<void> {
    // Said once: the addon loaded in this process (and so in the workers) or it did not.
    if (!this.originalDstWarned) {
      const unavailable = originalDstUnavailableMessage(snapshot.listeners);
      this.originalDstWarned = unavailable !== null;
      if (unavailable !== null) this.options.log(unavailable);
    }
    const results = await Promise.all(this.handles.map((h) => h.apply(snapshot)));
    this.applied = results[0] ?? null;
    this.healthChecks.update(snapshot.clusters);
  }

  /** Host health decided in one place (health checks here, an ejection in a worker) reaches every worker. */
  private async broadcastHealth(updates: HostHealthUpdate[], from?: WorkerHandle): Promise<void> {
    await Promise.all(this.handles.filter((h) => h !== from).map((h) => h.hostHealth(updates).catch(() => undefined)));
  }

  /** Istio's workloads reach every worker as they change (a worker that fails to take them is being replaced). */
  private async broadcastWorkloads(update: WorkloadUpdate): Promise<void> {
    await Promise.all(this.handles.map((h) => h.workloads(update).catch(() => undefined)));
  }

  private listenForOutliers(handle: WorkerHandle): void {
    handle.onOutlierEjection((update) => void this.broadcastHealth([update], handle));
  }

  /** A new worker gets the current snapshot, Istio's workloads and what the health checks know. */
  private async startServing(handle: WorkerHandle): Promise<void> {
    this.listenForOutliers(handle);
    // Before its listeners open: no request may see the server passing health checks.
    if (this.healthCheckFailed) await handle.healthCheckFailed(true);
    const workloads = this.workloads?.all();
    if (workloads !== undefined) await handle.workloads(workloads);
    await handle.apply(this.snapshot);
    if (runtime.hasAdminLayer()) await handle.runtime(runtime.adminValues());
    const known = this.healthChecks.status().map((h): HostHealthUpdate => ({ source: 'active', cluster: h.cluster, address: h.address, unhealthy: h.failed }));
    if (known.length > 0) await handle.hostHealth(known);
  }

  configDump(includeEds: boolean): Record<string, unknown>[] {
    return envoyConfigDump({
      bootstrap: this.bootRaw,
      loadedAt: this.bootLoadedAt,
      ...(this.dynamic !== null ? { dynamic: this.dynamic.dumpParts(), extra: this.dynamic.sourcesDump() } : {}),
      ...(this.secretFiles !== null ? { secrets: this.secretFiles.dumpEntries() } : {}),
      includeEds,
    });
  }

  xdsStatus(): XdsStatus | undefined {
    return this.dynamic?.status();
  }

  async stats(): Promise<MergedStats> {
    this.store.gauge('server.uptime').set(Math.floor((Date.now() - this.startTime) / 1000));
    const parts = await Promise.all(this.handles.map((h) => h.stats().catch(() => null)));
    return mergeSnapshots([this.store.snapshot(), ...parts.filter((p) => p !== null)]);
  }

  /** stats_flush_on_admin: what the admin's /stats read is flushed to the sinks. */
  statsRead(stats: MergedStats): void {
    this.statsFlusher?.adminRead(stats);
  }

  /** RSS of the primary and of each worker, for /server_info. */
  async memory(): Promise<Record<string, unknown>> {
    const workers = await Promise.all(this.handles.map((h) => h.memory().catch(() => null)));
    return { primary_rss_bytes: process.memoryUsage().rss, workers: workers.map((w, i) => ({ worker: this.handles[i].id, ...w })) };
  }

  async clusters(): Promise<ClusterStatus[]> {
    const parts = await Promise.all(this.handles.map((h) => h.clusters().catch(() => [])));
    return mergeClusterStatuses(parts);
  }

  ready(): boolean {
    return this.state === 'LIVE' && !this.healthCheckFailed;
  }

  /**
   * The admin listener counts against the global connection limit as Envoy's does: with --workers 1
   * in the worker's own count; with more, the primary (which serves no traffic) holds the whole
   * limit for its admin connections alone.
   */
  private adminConnectionLimit(boot: BootstrapConfig): GlobalConnectionLimit {
    const local = this.handles[0];
    return local instanceof LocalWorkerHandle ? local.worker.overload.connections : globalConnectionLimit(boot.overloadManager, 1);
  }

  runtime(): RuntimeJson {
    return runtime.json();
  }

  /** /runtime_modify: the admin layer here, then in every worker. False when there is no admin layer. */
  async modifyRuntime(changes: Record<string, string>): Promise<boolean> {
    if (!runtime.hasAdminLayer()) return false;
    runtime.modify(changes);
    const admin = runtime.adminValues();
    await Promise.all(this.handles.map((h) => h.runtime(admin).catch(() => undefined)));
    return true;
  }

  /** /healthcheck/fail and /healthcheck/ok: /ready and server.live here, the filters and connection managers in every worker. */
  async failHealthcheck(fail: boolean): Promise<void> {
    this.healthCheckFailed = fail;
    if (this.state === 'LIVE') this.store.gauge('server.live').set(fail ? 0 : 1);
    await Promise.all(this.handles.map((h) => h.healthCheckFailed(fail).catch(() => undefined)));
  }

  async reopenLogs(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.reopenLogs()));
  }

  async drainListeners(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.stopAccepting()));
  }

  /** Stops accepting, lets requests in flight finish within the drain time, then stops workers. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'DRAINING';
      this.store.gauge('server.live').set(0);
      await this.dynamic?.stop();
      this.secretFiles?.stop();
      this.healthChecks.close();
      this.statsFlusher?.stop();
      await Promise.all(this.handles.map((h) => h.drain(this.options.drainTimeMs).catch(() => undefined)));
      await this.admin?.close();
      if (this.spare !== null) this.spare.process.kill();
      if (cluster.isPrimary) for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    })();
    return this.stopping;
  }

  private async localWorker(): Promise<WorkerHandle> {
    const { Worker } = await import('./worker.ts');
    return new LocalWorkerHandle(new Worker({ mode: this.options.mode, reusePort: false, drainTimeMs: this.options.drainTimeMs, log: this.options.log, ...this.filterSettings }));
  }

  private async forkWorkers(count: number): Promise<WorkerHandle[]> {
    // Every module a worker loads goes through Node's compile cache here first, so that worker
    // processes start without loading the TypeScript transpiler (see compile-cache.ts).
    enableCompileCache();
    await import('./worker-main.ts');
    flushCompileCache();
    cluster.setupPrimary({ exec: WORKER_ENTRY, execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS), silent: false });
    const handles: WorkerHandle[] = [];
    for (let i = 0; i < count; i++) {
      const handle = this.forkWorker();
      handle.id = i;
      handles.push(handle);
    }
    this.startSpare(0);
    return handles;
  }

  private forkWorker(): ClusterWorkerHandle {
    const child = cluster.fork({ LEGATE_FILTER_CONTEXT: JSON.stringify(this.filterSettings), LEGATE_MODE: this.options.mode, LEGATE_REUSE_PORT: this.options.reusePort ? '1' : '0', LEGATE_DRAIN_TIME_MS: String(this.options.drainTimeMs), ...runAsEnv(this.options.runAs) });
    const handle = new ClusterWorkerHandle(child);
    child.once('exit', (code, signal) => this.onWorkerExit(handle, code, signal));
    return handle;
  }

  /**
   * A dead worker is replaced at once: by the warm spare with --spare-worker (a worker process
   * already started, with no listeners), so serving capacity is back within milliseconds rather
   * than a Node start-up, and then a new spare is started; otherwise by a new process. Workers
   * that keep dying soon after starting make the next spare wait, doubling up to 30 s, so a crash
   * loop does not spin.
   */
  private onWorkerExit(handle: ClusterWorkerHandle, code: number | null, signal: string | null): void {
    if (this.stopping !== null) return;
    if (handle === this.spare) {
      this.spare = null;
      this.startSpare(this.crashDelay(handle));
      return;
    }
    this.store.counter('server.worker_restarts').inc();
    const at = this.handles.indexOf(handle);
    const replacement = this.spare ?? this.forkWorker();
    this.spare = null;
    replacement.id = handle.id;
    if (at >= 0) this.handles[at] = replacement;
    this.options.log(`worker ${handle.id} exited (${signal ?? `code ${code}`}); worker process ${replacement.pid} takes its place`);
    this.startServing(replacement).catch((err: Error) => this.options.log(`worker ${handle.id}: ${err.message}`));
    this.startSpare(this.crashDelay(handle));
  }

  private crashDelay(handle: ClusterWorkerHandle): number {
    if (Date.now() - handle.startedAt > 10_000) {
      this.quickCrashes = 0;
      return 0;
    }
    this.quickCrashes++;
    return Math.min(30_000, 250 * 2 ** (this.quickCrashes - 1));
  }

  private startSpare(delayMs: number): void {
    if (this.options.spareWorker !== true) return;
    const start = () => {
      if (this.stopping === null && this.spare === null) this.spare = this.forkWorker();
    };
    if (delayMs === 0) start();
    else setTimeout(start, delayMs).unref();
  }
}

/** A listener configured with port 0 keeps the port it got, so a reload does not rebind it. */
function keepBoundPorts(next: Snapshot, current: Snapshot): Snapshot {
  const listeners = next.listeners.map((l) => {
    const running = current.listeners.find((c) => c.name === l.name);
    return l.address.port === 0 && running !== undefined && running.address.address === l.address.address ? { ...l, address: running.address } : l;
  });
  return { ...next, listeners };
}

/** The load assignment an EDS cluster takes. */
function serviceOf(cluster: Cluster): string {
  return cluster.edsServiceName || cluster.name;
}

/** A bootstrap with dynamic_resources (ADS, or LDS/CDS from files) needs the xDS machinery. */
function hasDynamicResources(boot: BootstrapConfig): boolean {
  const d = boot.dynamicResources;
  return d.ads !== undefined || d.lds !== undefined || d.cds !== undefined;
}

function partsOf(boot: BootstrapConfig): SnapshotParts {
  return { listeners: boot.listeners, clusters: boot.clusters, routeConfigs: boot.routeConfigs, versions: staticVersions() };
}

/** Does a listener or cluster take a secret from an SDS file? */
function hasSdsFiles(parts: Pick<SnapshotParts, 'listeners' | 'clusters'>): boolean {
  const chains = parts.listeners.flatMap((l) => (l.defaultFilterChain === undefined ? l.filterChains : [...l.filterChains, l.defaultFilterChain]));
  return chains.some((c) => c.tls?.sds !== undefined)
    || parts.clusters.some((c) => c.tls?.sds !== undefined || (c.transportSocketMatches ?? []).some((m) => m.tls?.sds !== undefined));
}

function snapshotOf(boot: BootstrapConfig, version: number): Snapshot {
  return { version, listeners: boot.listeners, clusters: boot.clusters, routeConfigs: boot.routeConfigs, versions: staticVersions() };
}

function staticVersions(): Snapshot['versions'] {
  return { lds: 'static', cds: 'static', rds: {}, eds: {} };
}
