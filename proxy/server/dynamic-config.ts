// Resources from a control plane (ADS, state of the world or delta) or from watched files
// (path_config_source), merged with the bootstrap's static resources into complete snapshots.
// Every update is translated, composed (warming decides what enters), validated and applied to
// the workers before it is ACKed; any failure NACKs it and keeps the last good config. Updates,
// timeouts and file reloads run one at a time. See README.md beside this file.
import { isDeepStrictEqual } from 'node:util';
import {
  CLUSTER_TYPE_URL,
  createFileSource,
  createXdsClient,
  ENDPOINT_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_TYPE_URL,
  SECRET_TYPE_URL,
  WORKLOAD_TYPE_URL,
} from '../../xds-client/index.ts';
import type { DecodedResource, FileSource, ResourceConsumer, ResourceUpdate, UpdateResult, XdsClient } from '../../xds-client/index.ts';
import { validateSnapshot } from '../config/index.ts';
import type { BootstrapConfig, StaticSecrets } from '../config/index.ts';
import type { Cluster, DynamicResources } from '../config/model.ts';
import type { Store } from '../stats/index.ts';
import type { XdsStatus } from '../admin/index.ts';
import {
  ADS_SOURCE,
  applyUpdate,
  changedEndpoints,
  changedRoutes,
  compose,
  dependencyKey,
  initialState,
  type Composition,
  type Kind,
  type Resource,
  type SnapshotParts,
  type SourceKey,
  type StaticResources,
  type XdsState,
} from './xds-state.ts';
import { XdsStats } from './xds-stats.ts';
import { collectAfterLargeUpdate, LARGE_UPDATE } from './v8-heap.ts';
import type { DynamicDumpParts, DynamicEntry } from './config-dump.ts';
import { grpcTarget, nodeInfo } from './grpc-target.ts';
import type { WorkloadDiscovery } from './workload-discovery.ts';

export type { SnapshotParts } from './xds-state.ts';

export interface DynamicConfigOptions {
  store: Store;
  log(line: string): void;
  /** Applies a complete, validated resource set to the workers; rejects if a worker could not. */
  update(parts: SnapshotParts): Promise<void>;
  /**
   * Applies `parts` where, since the last update, only these clusters' load assignments changed:
   * the workers get the new hosts of those clusters, not a snapshot.
   */
  updateEndpoints?(parts: SnapshotParts, clusters: Cluster[]): Promise<void>;
  /** Secret responses over ADS (SDS); the result is the ACK or NACK. */
  secrets?(update: ResourceUpdate): Promise<UpdateResult>;
  /** Istio's workload discovery (the bootstrap's metadata_discovery): subscribes to istiod's workloads. */
  workloads?: WorkloadDiscovery;
}

const TYPE_URLS: Record<Kind, string> = { lds: LISTENER_TYPE_URL, cds: CLUSTER_TYPE_URL, rds: ROUTE_TYPE_URL, eds: ENDPOINT_TYPE_URL };
const KIND_OF_TYPE = new Map(Object.entries(TYPE_URLS).map(([kind, typeUrl]) => [typeUrl, kind as Kind]));

interface Rejection {
  source: SourceKey;
  version: string;
  error: string;
  time: number;
  resources: DecodedResource[]; // what the refused update carried
}

export class DynamicConfigSource {
  readonly #options: DynamicConfigOptions;
  readonly #statics: StaticResources;
  readonly #dynamic: DynamicResources;
  readonly #embeddedRateLimitService: boolean;
  readonly #staticSecrets: StaticSecrets; // the bootstrap's, which xDS listeners and clusters may name
  readonly #internalListeners: boolean; // the bootstrap has envoy.bootstrap.internal_listener
  readonly #stats: XdsStats;
  readonly #client: XdsClient | undefined;
  readonly #serverAddress: string | undefined;
  readonly #files = new Map<string, FileSource>(); // by `${kind} ${path}`
  readonly #timers = new Map<string, NodeJS.Timeout>(); // initial fetch of a dependency, by its key
  readonly #awaiting = new Set<Kind>(); // LDS/CDS whose initial fetch is not over
  readonly #rejections = new Map<Kind, Rejection>();
  readonly #initialized = Promise.withResolvers<void>();
  #state: XdsState;
  #composition: Composition;
  #applied: SnapshotParts | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #ready = false;
  #stopped = false;

  constructor(boot: BootstrapConfig, options: DynamicConfigOptions) {
    this.#options = options;
    this.#statics = { listeners: boot.listeners, clusters: boot.clusters, routeConfigs: boot.routeConfigs };
    this.#dynamic = boot.dynamicResources;
    this.#embeddedRateLimitService = boot.rateLimitService !== undefined;
    this.#staticSecrets = boot.staticSecrets;
    this.#internalListeners = boot.internalListener !== undefined;
    this.#stats = new XdsStats(options.store);
    this.#state = initialState(this.#dynamic.lds === undefined ? 'static' : '', this.#dynamic.cds === undefined ? 'static' : '');
    this.#composition = compose(this.#statics, this.#state, { listeners: new Map(), clusters: new Map() });
    if (this.#dynamic.lds !== undefined) this.#awaiting.add('lds');
    if (this.#dynamic.cds !== undefined) this.#awaiting.add('cds');
    const ads = this.#dynamic.ads;
    if (ads !== undefined) {
      this.#serverAddress = grpcTarget(ads.grpcService, boot.clusters, 'dynamic_resources.ads_config');
      this.#client = createXdsClient({
        server: { address: this.#serverAddress },
        node: nodeInfo(boot.node),
        apiType: ads.apiType,
        // LDS and CDS over ADS only when their config source says so (they may be files).
        // Workloads only with Istio's bootstrap extension: they are not needed for the first config.
        wildcardTypes: [
          ...(['cds', 'lds'] as const).filter((kind) => this.#dynamic[kind]?.kind === 'ads').map((kind) => TYPE_URLS[kind]),
          ...(options.workloads === undefined ? [] : [WORKLOAD_TYPE_URL]),
        ],
        initialFetchTimeoutMs: this.#dynamic.initialFetchTimeoutMs,
        onResources: (typeUrl, update) => {
          if (typeUrl === SECRET_TYPE_URL) return options.secrets?.(update) ?? Promise.resolve({ ok: false, error: 'no secrets wanted' });
          if (typeUrl === WORKLOAD_TYPE_URL) return options.workloads!.update(update);
          return this.#consumer(KIND_OF_TYPE.get(typeUrl)!, ADS_SOURCE)(typeUrl, update);
        },
        logger: { info: options.log, warn: options.log },
      });
      this.#watchClient(this.#client);
    }
  }

  /** Resolves once the first complete config was applied, or the initial fetch timed out. */
  async start(): Promise<void> {
    // Static listeners and clusters may wait for RDS/EDS too: subscribe before the first request.
    await this.#serial(() => this.#refresh());
    this.#client?.start();
    for (const kind of ['cds', 'lds'] as const) {
      const source = this.#dynamic[kind];
      if (source?.kind === 'path') this.#watchFile(kind, source.path, source.watchedDirectory);
    }
    await this.#initialized.promise;
  }

  /** SDS over ADS: subscribe to exactly these secrets (by name, as Envoy). */
  setSecretNames(names: string[]): void {
    this.#client?.setResourceNames(SECRET_TYPE_URL, names);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#initialized.resolve();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const file of this.#files.values()) file.stop();
    await this.#client?.stop();
    await this.#queue;
  }

  /** For the dashboard: the control plane's connection and the last rejected update of each type. */
  status(): XdsStatus {
    const rejected = [...this.#rejections].map(([type, r]) => ({ type, source: r.source, version: r.version, error: r.error, time: r.time }));
    const controlPlane = this.#client === undefined ? undefined : { address: this.#serverAddress ?? '', connected: this.#client.state().connected };
    return { controlPlane, rejected };
  }

  /**
   * Legate's own section of /config_dump (Envoy has no place for it): the control plane and the
   * last refused update of each type, even one that named no resource (a file that did not parse),
   * Istio's workloads included.
   */
  sourcesDump(): Record<string, unknown> {
    const rejected: Record<string, unknown> = {};
    for (const [kind, r] of this.#rejections) rejected[kind] = { source: r.source, version_info: r.version, error: r.error, time: new Date(r.time).toISOString() };
    const workloads = this.#options.workloads?.lastRejected;
    if (workloads !== undefined) rejected.workloads = { source: ADS_SOURCE, version_info: workloads.version, error: workloads.error, time: new Date(workloads.time).toISOString() };
    return {
      '@type': 'type.googleapis.com/legate.admin.v1.ConfigSourcesDump',
      ...(this.#client !== undefined
        ? { control_plane: { address: this.#serverAddress, api_type: this.#dynamic.ads?.apiType, connected: this.#client.state().connected } }
        : {}),
      last_rejected: rejected,
    };
  }

  /** The dynamic resources for /config_dump: each by name, active, warming, and its last refused update. */
  dumpParts(): DynamicDumpParts {
    const { active, warmingListeners, warmingClusters } = this.#composition;
    const state = this.#state;
    const entries = (kind: Kind, running: Iterable<Resource<unknown>>, warming: Iterable<Resource<unknown>> = []): DynamicEntry[] => {
      const byName = new Map<string, DynamicEntry>();
      const entry = (name: string) => byName.get(name) ?? byName.set(name, { name }).get(name)!;
      for (const r of running) entry(r.name).active = r;
      for (const r of warming) entry(r.name).warming = r;
      const rejection = this.#rejections.get(kind);
      for (const r of rejection?.resources ?? []) {
        const current = byName.get(r.name);
        const last = current?.warming ?? current?.active;
        // Envoy's error_state: set by a refused update, cleared by the next accepted one.
        if (last !== undefined && (last.lastUpdated > rejection!.time || isDeepStrictEqual(last.raw, r.resource))) continue;
        if (current === undefined && kind !== 'lds') continue; // only listeners are listed by name alone
        entry(r.name).failed = { version: rejection!.version, time: rejection!.time, details: rejection!.error, raw: r.resource };
      }
      return [...byName.values()];
    };
    return {
      ldsVersion: state.ldsVersion,
      cdsVersion: state.cdsVersion,
      listeners: entries('lds', active.listeners.values(), warmingListeners),
      clusters: entries('cds', active.clusters.values(), warmingClusters),
      routeConfigs: entries('rds', state.routeConfigs.values()),
      endpointConfigs: entries('eds', state.loadAssignments.values()),
    };
  }

  // ---- updates ----

  #consumer(kind: Kind, source: SourceKey): ResourceConsumer {
    return (_typeUrl, update) => this.#serial(() => this.#onUpdate(kind, source, update));
  }

  async #onUpdate(kind: Kind, source: SourceKey, update: ResourceUpdate): Promise<UpdateResult> {
    if (this.#stopped) return { ok: false, error: 'Legate is shutting down' };
    const names = update.resources.map((r) => r.name);
    let applied;
    try {
      applied = applyUpdate(this.#state, kind, source, update, Date.now(), this.#client !== undefined, this.#staticSecrets, this.#internalListeners);
      const changed = kind === 'eds' || kind === 'rds' ? { kind, keys: [...applied.added, ...applied.modified].map((name) => dependencyKey({ source, name })) } : undefined;
      await this.#commit(applied.state, changed);
    } catch (err) {
      const error = (err as Error).message ?? String(err);
      await this.#rejected(kind, source, update.version, error, update.resources);
      return { ok: false, error };
    }
    const versions = new Map(update.resources.map((r) => [r.name, r.version]));
    if (kind === 'lds' || kind === 'cds') {
      this.#stats.accepted(this.#stats.prefixes(kind), update.version);
      this.#stats.changes(kind, applied);
      if (applied.added.length + applied.modified.length + applied.removed.length > 0) {
        this.#options.log(`${kind.toUpperCase()} version "${update.version}": ${describeChanges(applied)}`);
      }
    } else {
      for (const [name, version] of versions) this.#stats.accepted(this.#statPrefixes(kind, source, [name]), version);
      // A load assignment removed (delta) leaves the hosts as they are: Envoy's update_empty.
      if (kind === 'eds' && names.length === 0) this.#stats.count(this.#statPrefixes(kind, source, update.removed), 'update_empty');
    }
    if (kind === 'rds' && update.removed.length > 0) {
      this.#options.log(`RDS: ignoring the removal of route config '${update.removed[0]}' (as Envoy does; a route config goes when no listener uses it)`);
    }
    for (const warning of applied.warnings) this.#options.log(`warning: ${kind.toUpperCase()}: ${warning}`);
    if (update.resources.length >= LARGE_UPDATE) collectAfterLargeUpdate();
    this.#awaiting.delete(kind);
    this.#checkInitialized();
    return { ok: true };
  }

  // A rejected update still ends an initial fetch (Envoy starts with what it has): LDS/CDS stop
  // being awaited, and listeners or clusters waiting for the named RDS/EDS resources go on without.
  async #rejected(kind: Kind, source: SourceKey, version: string, error: string, refused: DecodedResource[]): Promise<void> {
    const names = refused.map((r) => r.name);
    this.#rejections.set(kind, { source, version, error, time: Date.now(), resources: refused });
    this.#stats.rejected(this.#statPrefixes(kind, source, names));
    this.#options.log(`${kind.toUpperCase()} update "${version}" rejected, keeping the last good config: ${error}`);
    if (kind === 'lds' || kind === 'cds') {
      this.#awaiting.delete(kind);
      this.#checkInitialized();
      return;
    }
    const wanted = kind === 'rds' ? this.#composition.routes : this.#composition.endpoints;
    const resources = kind === 'rds' ? this.#state.routeConfigs : this.#state.loadAssignments;
    const settle = names.map((name) => dependencyKey({ source, name })).filter((key) => wanted.has(key) && !resources.has(key));
    if (settle.length === 0) return;
    this.#state = { ...this.#state, settled: new Set([...this.#state.settled, ...settle]) };
    await this.#refresh();
  }

  /**
   * Composes, validates and applies a state; it becomes the current one only once applied. When
   * `changed` names the only load assignments that changed (an EDS update) and they change no
   * cluster's warming, only the clusters using them are validated and sent, as host updates; when
   * it names the only route configs that changed (RDS), the last parts get them without composing,
   * and only they are validated.
   */
  async #commit(state: XdsState, changed?: { kind: 'eds' | 'rds'; keys: string[] }): Promise<void> {
    const routes = changed?.kind === 'rds' ? changedRoutes(this.#composition, this.#state, state, changed.keys) : undefined;
    if (routes !== undefined) {
      const only = Object.fromEntries(changed!.keys.map((key) => state.routeConfigs.get(key)!).map((r) => [r.name, r.value]));
      validateSnapshot({ ...routes, listeners: [], clusters: [], routeConfigs: only }, { checkRdsRefs: true, embeddedRateLimitService: this.#embeddedRateLimitService });
      if (changed!.keys.length > 0) await this.#apply(routes, () => this.#options.update(routes));
      this.#state = state;
      this.#composition = { ...this.#composition, parts: routes };
      this.#checkInitialized();
      return;
    }
    const change = changed?.kind !== 'eds' || this.#options.updateEndpoints === undefined ? undefined : changedEndpoints(this.#composition, this.#state, state, changed.keys);
    if (change !== undefined) {
      validateSnapshot({ ...change.parts, listeners: [], clusters: change.clusters, routeConfigs: {} }, { checkRdsRefs: true, embeddedRateLimitService: this.#embeddedRateLimitService });
      if (change.clusters.length > 0) await this.#apply(change.parts, () => this.#options.updateEndpoints!(change.parts, change.clusters));
      this.#state = state;
      this.#composition = { ...this.#composition, parts: change.parts };
      this.#checkInitialized();
      return;
    }
    const composition = compose(this.#statics, state, this.#composition.active);
    validateSnapshot(composition.parts, { checkRdsRefs: true, embeddedRateLimitService: this.#embeddedRateLimitService });
    await this.#apply(composition.parts, () => this.#options.update(composition.parts));
    this.#state = state;
    this.#composition = composition;
    this.#trackDependencies();
    this.#stats.gauges(composition);
    this.#checkInitialized();
  }

  async #apply(parts: SnapshotParts, apply: () => Promise<void>): Promise<void> {
    try {
      await apply();
    } catch (err) {
      // A worker may have applied part of it (a listener that did not bind): put the last good back.
      if (this.#applied !== undefined) await this.#options.update(this.#applied).catch(() => undefined);
      throw err;
    }
    this.#applied = parts;
  }

  // Applies the current state again: after a dependency's initial fetch ended without it.
  async #refresh(): Promise<void> {
    try {
      await this.#commit(this.#state);
    } catch (err) {
      this.#options.log(`dynamic config: cannot apply the current resources: ${(err as Error).message}`);
    }
  }

  #checkInitialized(): void {
    if (this.#ready || this.#awaiting.size > 0 || this.#composition.pending > 0) return;
    this.#ready = true;
    const { listeners, clusters } = this.#composition.parts;
    this.#options.log(`dynamic config: initial config applied (${listeners.length} listeners, ${clusters.length} clusters)`);
    this.#initialized.resolve();
  }

  // ---- what the config depends on: subscriptions, watched files, initial fetch timers ----

  #trackDependencies(): void {
    const { routes, endpoints } = this.#composition;
    const adsNames = (wanted: Composition['routes']) => [...wanted.values()].filter((d) => d.source === ADS_SOURCE).map((d) => d.name);
    this.#client?.setResourceNames(ROUTE_TYPE_URL, adsNames(routes));
    this.#client?.setResourceNames(ENDPOINT_TYPE_URL, adsNames(endpoints));

    const files = new Set<string>();
    for (const [kind, wanted] of [['rds', routes], ['eds', endpoints]] as const) {
      for (const dep of wanted.values()) {
        if (dep.source === ADS_SOURCE) continue;
        const path = dep.source.slice('path:'.length);
        files.add(`${kind} ${path}`);
        this.#watchFile(kind, path);
      }
    }
    for (const [key, file] of this.#files) {
      if ((key.startsWith('rds ') || key.startsWith('eds ')) && !files.has(key)) {
        file.stop();
        this.#files.delete(key);
      }
    }

    // Forget what nothing wants. A watched file's resources stay while it is watched: it is not
    // read again unless it changes.
    const keep = (kind: 'rds' | 'eds', wanted: Composition['routes']) => (key: string) => wanted.has(key) || this.#files.has(fileKeyOf(kind, key));
    const state = this.#state;
    this.#state = {
      ...state,
      routeConfigs: filterKeys(state.routeConfigs, keep('rds', routes)),
      loadAssignments: filterKeys(state.loadAssignments, keep('eds', endpoints)),
      settled: new Set([...state.settled].filter((key) => routes.has(key) || endpoints.has(key))),
    };

    const waiting = new Set<string>();
    for (const [kind, wanted, resources] of [['rds', routes, this.#state.routeConfigs], ['eds', endpoints, this.#state.loadAssignments]] as const) {
      for (const key of wanted.keys()) {
        if (resources.has(key) || this.#state.settled.has(key)) continue;
        waiting.add(key);
        if (!this.#timers.has(key)) this.#armInitialFetchTimer(kind, key);
      }
    }
    for (const [key, timer] of this.#timers) {
      if (waiting.has(key)) continue;
      clearTimeout(timer);
      this.#timers.delete(key);
    }
  }

  // Envoy's initial_fetch_timeout, per RDS/EDS resource: after it, what waits for it goes on without.
  #armInitialFetchTimer(kind: 'rds' | 'eds', key: string): void {
    const timeout = this.#dynamic.initialFetchTimeoutMs;
    if (timeout <= 0) return;
    const timer = setTimeout(() => {
      void this.#serial(async () => {
        this.#timers.delete(key);
        const dep = (kind === 'rds' ? this.#composition.routes : this.#composition.endpoints).get(key);
        const resources = kind === 'rds' ? this.#state.routeConfigs : this.#state.loadAssignments;
        if (this.#stopped || dep === undefined || resources.has(key)) return;
        this.#stats.count(this.#statPrefixes(kind, dep.source, [dep.name]), 'init_fetch_timeout');
        this.#options.log(`${kind.toUpperCase()}: no '${dep.name}' from ${sourceText(dep.source)} within ${timeout} ms; going on without it`);
        this.#state = { ...this.#state, settled: new Set([...this.#state.settled, key]) };
        await this.#refresh();
      });
    }, timeout);
    timer.unref();
    this.#timers.set(key, timer);
  }

  #watchFile(kind: Kind, path: string, watchedDirectory?: string): void {
    const key = `${kind} ${path}`;
    if (this.#files.has(key) || this.#stopped) return;
    const source = `path:${path}`;
    const file = createFileSource({
      path,
      typeUrl: TYPE_URLS[kind],
      ...(watchedDirectory !== undefined ? { watchedDirectory } : {}),
      onResources: this.#consumer(kind, source),
      onInvalid: (error) => void this.#serial(() => this.#rejected(kind, source, '', error, [])),
      logger: { info: this.#options.log, warn: this.#options.log },
    });
    this.#files.set(key, file);
    file.start().catch((err: Error) => {
      void this.#serial(() => this.#rejected(kind, source, '', `cannot watch ${path}: ${err.message}`, []));
    });
  }

  #watchClient(client: XdsClient): void {
    const connected = this.#options.store.gauge('control_plane.connected_state');
    connected.set(0);
    client.on('connected', () => connected.set(1));
    client.on('disconnected', () => connected.set(0));
    const workloads = this.#options.workloads;
    client.on('updateFailure', (typeUrl) => {
      if (typeUrl === WORKLOAD_TYPE_URL) workloads?.failed();
      const kind = KIND_OF_TYPE.get(typeUrl);
      if (kind !== undefined) this.#stats.failed(this.#statPrefixes(kind, ADS_SOURCE));
    });
    client.on('invalidResponse', (typeUrl, version, error) => {
      if (typeUrl === WORKLOAD_TYPE_URL) workloads?.rejected(version, error);
      const kind = KIND_OF_TYPE.get(typeUrl);
      if (kind !== undefined) void this.#serial(() => this.#rejected(kind, ADS_SOURCE, version, error, []));
    });
    client.on('initialFetchTimeout', (typeUrl) => {
      if (typeUrl === WORKLOAD_TYPE_URL) workloads?.initialFetchTimedOut();
      const kind = KIND_OF_TYPE.get(typeUrl);
      if (kind !== 'lds' && kind !== 'cds') return; // RDS and EDS time out per resource (above)
      this.#stats.count(this.#stats.prefixes(kind), 'init_fetch_timeout');
      void this.#serial(async () => {
        this.#awaiting.delete(kind);
        this.#checkInitialized();
      });
    });
  }

  // Stat prefixes of an update: per type for LDS/CDS; for RDS per HCM using the route config
  // (http.<stat_prefix>.rds.<name>), for EDS per cluster using the assignment (cluster.<name>).
  // Without names: every resource of the source that the config wants.
  #statPrefixes(kind: Kind, source: SourceKey, names?: string[]): string[] {
    if (kind === 'lds' || kind === 'cds') return this.#stats.prefixes(kind);
    const wanted = kind === 'rds' ? this.#composition.routes : this.#composition.endpoints;
    const deps = names === undefined
      ? [...wanted.values()].filter((d) => d.source === source)
      : names.flatMap((name) => wanted.get(dependencyKey({ source, name })) ?? []);
    return deps.flatMap((dep) => [...dep.users].map((user) => (kind === 'rds' ? `http.${user}.rds.${dep.name}` : `cluster.${user}`)));
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function fileKeyOf(kind: 'rds' | 'eds', dependencyKey: string): string {
  const source = dependencyKey.slice(0, dependencyKey.indexOf('\n'));
  return source === ADS_SOURCE ? '' : `${kind} ${source.slice('path:'.length)}`;
}

function filterKeys<T>(map: ReadonlyMap<string, T>, keep: (key: string) => boolean): ReadonlyMap<string, T> {
  return new Map([...map].filter(([key]) => keep(key)));
}

function describeChanges(changes: { added: string[]; modified: string[]; removed: string[] }): string {
  const part = (what: string, names: string[]) => {
    if (names.length === 0) return [];
    const shown = names.slice(0, 5).map((n) => `'${n}'`).join(', ');
    return [`${what} ${shown}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`];
  };
  return [...part('added', changes.added), ...part('modified', changes.modified), ...part('removed', changes.removed)].join('; ');
}

function sourceText(source: SourceKey): string {
  return source === ADS_SOURCE ? 'ADS' : source.slice('path:'.length);
}

