// The dynamic part of the config as plain state, and the pure steps over it: applying one xDS (or
// file) update to the state, and composing the state with the bootstrap's static resources into
// snapshot parts. Composing decides warming as Envoy does: a listener whose HCM uses RDS, or an
// EDS cluster, enters the snapshot once what it depends on arrived (or its initial fetch is over);
// until then an older version that is already active stays, and a new one waits.
import { isDeepStrictEqual } from 'node:util';
import type { JsonObject, ResourceUpdate } from '../../xds-client/index.ts';
import {
  ConfigError,
  translateCluster,
  translateClusterLoadAssignment,
  translateListener,
  internalListenerWithoutExtension,
  translateRouteConfiguration,
} from '../config/index.ts';
import type { StaticSecrets } from '../config/index.ts';
import type { Cluster, ClusterLoadAssignment, ConfigSourceRef, Listener, RouteConfig } from '../config/model.ts';
import type { Snapshot } from '../config/snapshot.ts';

export type SnapshotParts = Omit<Snapshot, 'version'>;

export type Kind = 'lds' | 'cds' | 'rds' | 'eds';

/** Where a resource came from: 'ads', or 'path:<file>' for a path_config_source. */
export type SourceKey = string;
export const ADS_SOURCE: SourceKey = 'ads';

export function sourceKeyOf(ref: ConfigSourceRef | undefined): SourceKey {
  return ref?.kind === 'path' ? `path:${ref.path}` : ADS_SOURCE;
}

/** One accepted resource: its raw form (for /config_dump), its model and when it last changed. */
export interface Resource<T> {
  name: string;
  version: string;
  lastUpdated: number; // ms since the epoch
  raw: JsonObject;
  value: T;
}

export interface ListenerValue {
  listener: Listener;
  inlineRouteConfigs: RouteConfig[];
}

/** An RDS route config or an EDS load assignment that a listener or cluster waits for. */
export interface Dependency {
  source: SourceKey;
  name: string;
}

export function dependencyKey(dep: Dependency): string {
  return `${dep.source}\n${dep.name}`;
}

export interface XdsState {
  ldsVersion: string;
  cdsVersion: string;
  listeners: ReadonlyMap<string, Resource<ListenerValue>>; // the latest version of each (LDS)
  clusters: ReadonlyMap<string, Resource<Cluster>>; // the latest version of each (CDS)
  routeConfigs: ReadonlyMap<string, Resource<RouteConfig>>; // by dependency key (RDS)
  loadAssignments: ReadonlyMap<string, Resource<ClusterLoadAssignment>>; // by dependency key (EDS)
  // Dependencies whose initial fetch ended without a resource (timeout or rejected update): what
  // waits for them goes on with an empty route config / no hosts, as Envoy's does.
  settled: ReadonlySet<string>;
}

export function initialState(ldsVersion: string, cdsVersion: string): XdsState {
  return { ldsVersion, cdsVersion, listeners: new Map(), clusters: new Map(), routeConfigs: new Map(), loadAssignments: new Map(), settled: new Set() };
}

export interface StaticResources {
  listeners: Listener[];
  clusters: Cluster[];
  routeConfigs: Record<string, RouteConfig>;
}

// ---- applying an update ----

export interface Applied {
  state: XdsState;
  added: string[];
  modified: string[];
  removed: string[];
  warnings: string[];
}

/**
 * The state after an update, or a ConfigError naming the first resource that does not translate
 * (the update is then rejected as a whole). Unchanged resources keep their version and time.
 * Removals count for LDS and CDS only: Envoy ignores a delta removal of a route config, and an
 * absent load assignment leaves the cluster's hosts as they are.
 */
// internalListeners: the bootstrap has envoy.bootstrap.internal_listener (else an internal listener is a NACK).
export function applyUpdate(state: XdsState, kind: Kind, source: SourceKey, update: ResourceUpdate, now: number, hasAds: boolean, secrets?: StaticSecrets, internalListeners = true): Applied {
  const warnings: string[] = [];
  switch (kind) {
    case 'lds': {
      const r = merge(state.listeners, update, now, (raw, name) => {
        const path = `listeners[${JSON.stringify(name)}]`;
        const t = translateListener(raw, path, secrets);
        if (t.listener.internal === true && !internalListeners) throw internalListenerWithoutExtension(name, path);
        warnings.push(...t.warnings);
        for (const dep of listenerDependencies(t.listener)) requireAds(dep.source, hasAds, path, `listener '${name}' gets routes over ADS`);
        return { listener: t.listener, inlineRouteConfigs: t.routeConfigs };
      });
      return { state: { ...state, ldsVersion: update.version, listeners: r.next }, ...r, warnings };
    }
    case 'cds': {
      const r = merge(state.clusters, update, now, (raw, name) => {
        const path = `clusters[${JSON.stringify(name)}]`;
        const t = translateCluster(raw, path, secrets);
        warnings.push(...t.warnings);
        const dep = clusterDependency(t.cluster);
        if (dep !== undefined) requireAds(dep.source, hasAds, path, `cluster '${name}' gets endpoints over ADS`);
        return t.cluster;
      });
      return { state: { ...state, cdsVersion: update.version, clusters: r.next }, ...r, warnings };
    }
    case 'rds': {
      const r = merge(state.routeConfigs, upserts(update), now, (raw, name) => {
        const t = translateRouteConfiguration(raw, `route_configs[${JSON.stringify(name)}]`);
        warnings.push(...t.warnings);
        return t.routeConfig;
      }, source);
      return { state: { ...state, routeConfigs: r.next }, ...r, warnings };
    }
    case 'eds': {
      const r = merge(state.loadAssignments, upserts(update), now, (raw, name) => {
        const t = translateClusterLoadAssignment(raw, `load_assignments[${JSON.stringify(name)}]`);
        warnings.push(...t.warnings);
        return t.loadAssignment;
      }, source);
      return { state: { ...state, loadAssignments: r.next }, ...r, warnings };
    }
  }
}

function upserts(update: ResourceUpdate): ResourceUpdate {
  return { ...update, removed: [], complete: false };
}

function requireAds(source: SourceKey, hasAds: boolean, path: string, what: string): void {
  if (source === ADS_SOURCE && !hasAds) throw new ConfigError(path, `${what} but there is no ads_config`, 'add dynamic_resources.ads_config, or use path_config_source');
}

// Keys are plain names, or dependency keys of `source` when one is given.
function merge<T>(
  current: ReadonlyMap<string, Resource<T>>,
  update: ResourceUpdate,
  now: number,
  translate: (raw: JsonObject, name: string) => T,
  source?: SourceKey,
): { next: Map<string, Resource<T>>; added: string[]; modified: string[]; removed: string[] } {
  const keyOf = (name: string) => (source === undefined ? name : dependencyKey({ source, name }));
  const next = new Map(update.complete ? [] : current);
  const added: string[] = [];
  const modified: string[] = [];
  for (const { name, version, resource } of update.resources) {
    const key = keyOf(name);
    const previous = current.get(key);
    if (previous !== undefined && isDeepStrictEqual(previous.raw, resource)) {
      next.set(key, previous);
      continue;
    }
    next.set(key, { name, version, lastUpdated: now, raw: resource, value: translate(resource, name) });
    (previous === undefined ? added : modified).push(name);
  }
  for (const name of update.removed) next.delete(keyOf(name));
  // A partial update removes only what it names: no need to walk every resource.
  const removed = update.complete
    ? [...current].filter(([key]) => !next.has(key)).map(([, r]) => r.name)
    : update.removed.flatMap((name) => current.get(keyOf(name))?.name ?? []);
  return { next, added, modified, removed };
}

// ---- dependencies ----

export interface RouteDependency extends Dependency {
  statPrefix: string; // of the HCM, for http.<stat_prefix>.rds.<name>.*
}

export function listenerDependencies(listener: Listener): RouteDependency[] {
  const chains = listener.defaultFilterChain === undefined ? listener.filterChains : [...listener.filterChains, listener.defaultFilterChain];
  const deps: RouteDependency[] = [];
  for (const { network } of chains) {
    if (network.kind === 'http_connection_manager' && network.rds) {
      deps.push({ source: sourceKeyOf(network.rdsConfigSource), name: network.routeConfigName, statPrefix: network.statPrefix });
    }
  }
  return deps;
}

export function clusterDependency(cluster: Cluster): Dependency | undefined {
  if (cluster.type !== 'EDS') return undefined;
  return { source: sourceKeyOf(cluster.edsConfigSource), name: cluster.edsServiceName || cluster.name };
}

// ---- composing a snapshot ----

/** A dependency wanted by the current config, with who wants it (for per-resource stats). */
export interface Wanted extends Dependency {
  users: Set<string>; // HCM stat prefixes (RDS) or cluster names (EDS)
}

export interface Composition {
  parts: SnapshotParts;
  // The dynamic listeners and clusters in the snapshot, each at the version it runs.
  active: { listeners: Map<string, Resource<ListenerValue>>; clusters: Map<string, Resource<Cluster>> };
  // Latest versions not in the snapshot yet.
  warmingListeners: Resource<ListenerValue>[];
  warmingClusters: Resource<Cluster>[];
  // Everything the static, active and warming resources depend on, by dependency key.
  routes: Map<string, Wanted>;
  endpoints: Map<string, Wanted>;
  // Wanted dependencies that neither arrived nor are settled: the config is not complete yet.
  pending: number;
  // Where in parts.clusters each load assignment is used, by dependency key.
  endpointUsers: Map<string, number[]>;
}

export function compose(statics: StaticResources, state: XdsState, active: Composition['active']): Composition {
  const routes = new Map<string, Wanted>();
  const endpoints = new Map<string, Wanted>();
  const want = (into: Map<string, Wanted>, dep: Dependency, user: string, key = dependencyKey(dep)): string => {
    let entry = into.get(key);
    if (entry === undefined) {
      entry = { source: dep.source, name: dep.name, users: new Set<string>() };
      into.set(key, entry);
    }
    entry.users.add(user);
    return key;
  };
  const routeReady = (l: Listener) => listenerDependencies(l).every((d) => ready(state.routeConfigs, state, want(routes, d, d.statPrefix)));
  const clusterReady = (c: Cluster) => {
    const dep = endpointsOf(c);
    return dep === undefined || ready(state.loadAssignments, state, want(endpoints, dep, c.name, dep.key));
  };

  const nextActive: Composition['active'] = { listeners: new Map(), clusters: new Map() };
  const warmingListeners = pick(state.listeners, active.listeners, (r) => routeReady(r.value.listener), nextActive.listeners);
  const warmingClusters = pick(state.clusters, active.clusters, (r) => clusterReady(r.value), nextActive.clusters);

  const listeners = [...statics.listeners, ...[...nextActive.listeners.values()].map((r) => r.value.listener)];
  const routeConfigs: Record<string, RouteConfig> = { ...statics.routeConfigs };
  const rdsVersions: Record<string, string> = {};
  for (const listener of listeners) {
    for (const dep of listenerDependencies(listener)) {
      want(routes, dep, dep.statPrefix);
      const found = state.routeConfigs.get(dependencyKey(dep));
      routeConfigs[dep.name] = found?.value ?? emptyRouteConfig(dep.name);
      if (found !== undefined) rdsVersions[dep.name] = found.version;
    }
  }
  for (const r of nextActive.listeners.values()) for (const rc of r.value.inlineRouteConfigs) routeConfigs[rc.name] = rc;

  const edsVersions: Record<string, string> = {};
  const endpointUsers = new Map<string, number[]>();
  const withEndpoints = (cluster: Cluster, at: number): Cluster => {
    const dep = endpointsOf(cluster);
    if (dep === undefined) return cluster;
    const key = want(endpoints, dep, cluster.name, dep.key);
    const users = endpointUsers.get(key);
    if (users === undefined) endpointUsers.set(key, [at]);
    else users.push(at);
    const found = state.loadAssignments.get(key);
    if (found === undefined) return { ...cluster, loadAssignment: emptyLoadAssignment(dep.name) };
    edsVersions[dep.name] = found.version;
    return withAssignment(cluster, found.value);
  };
  const clusters = [...statics.clusters, ...[...nextActive.clusters.values()].map((r) => r.value)].map(withEndpoints);

  let pending = 0;
  for (const key of routes.keys()) if (!ready(state.routeConfigs, state, key)) pending++;
  for (const key of endpoints.keys()) if (!ready(state.loadAssignments, state, key)) pending++;
  return {
    parts: {
      listeners,
      clusters,
      routeConfigs,
      versions: { lds: state.ldsVersion, cds: state.cdsVersion, rds: rdsVersions, eds: edsVersions },
    },
    active: nextActive,
    warmingListeners,
    warmingClusters,
    routes,
    endpoints,
    pending,
    endpointUsers,
  };
}

/** What changed when only load assignments did: the snapshot parts, and the clusters with new hosts. */
export interface EndpointChange {
  parts: SnapshotParts;
  clusters: Cluster[];
}

/**
 * The composition's parts after the load assignments under `keys` changed in `state` and nothing
 * else did: the clusters in the snapshot that use them get the new hosts. Undefined when the
 * change could alter what is in the snapshot (an assignment that was not there before may end a
 * cluster's warming): compose again then. Costs the number of changed clusters, not the mesh:
 * the EDS versions (which only the dashboard reads) are updated in place, as copying an object of
 * 10,000 keys costs milliseconds.
 */
export function changedEndpoints(composition: Composition, previous: XdsState, state: XdsState, keys: readonly string[]): EndpointChange | undefined {
  for (const key of keys) {
    if (!previous.loadAssignments.has(key) || !state.loadAssignments.has(key) || !composition.endpoints.has(key)) return undefined;
  }
  const clusters = composition.parts.clusters.slice();
  const eds = composition.parts.versions.eds;
  const updated: Cluster[] = [];
  for (const key of keys) {
    const found = state.loadAssignments.get(key)!;
    for (const at of composition.endpointUsers.get(key) ?? []) {
      eds[found.name] = found.version;
      clusters[at] = { ...clusters[at], loadAssignment: found.value };
      updated.push(clusters[at]);
    }
  }
  return { parts: { ...composition.parts, clusters }, clusters: updated };
}

/**
 * The composition's parts after the route configs under `keys` changed in `state` and nothing
 * else did: the same parts with those route configs. Undefined when the change could alter what is
 * in the snapshot (a route config that was not there before may end a listener's warming), or
 * when another route config of the same name is the one in the parts: compose again then.
 */
export function changedRoutes(composition: Composition, previous: XdsState, state: XdsState, keys: readonly string[]): SnapshotParts | undefined {
  const parts = composition.parts;
  const routeConfigs = { ...parts.routeConfigs };
  const rds = { ...parts.versions.rds };
  for (const key of keys) {
    const before = previous.routeConfigs.get(key);
    const after = state.routeConfigs.get(key);
    if (before === undefined || after === undefined || !composition.routes.has(key) || parts.routeConfigs[before.name] !== before.value) return undefined;
    routeConfigs[after.name] = after.value;
    rds[after.name] = after.version;
  }
  return { ...parts, routeConfigs, versions: { ...parts.versions, rds } };
}

// A cluster's load assignment and its dependency key, made once per cluster object: composing a
// mesh asks for them twice per cluster on every update.
const endpointsDependency = new WeakMap<Cluster, (Dependency & { key: string }) | null>();

function endpointsOf(cluster: Cluster): (Dependency & { key: string }) | undefined {
  let dep = endpointsDependency.get(cluster);
  if (dep === undefined) {
    const found = clusterDependency(cluster);
    dep = found === undefined ? null : { ...found, key: dependencyKey(found) };
    endpointsDependency.set(cluster, dep);
  }
  return dep ?? undefined;
}

// The same cluster with the same hosts is the same object from one compose to the next, so that
// what applies snapshots can skip it by identity instead of comparing it field by field.
const withHosts = new WeakMap<Cluster, { assignment: ClusterLoadAssignment; cluster: Cluster }>();

function withAssignment(cluster: Cluster, assignment: ClusterLoadAssignment): Cluster {
  const known = withHosts.get(cluster);
  if (known?.assignment === assignment) return known.cluster;
  const next = { ...cluster, loadAssignment: assignment };
  withHosts.set(cluster, { assignment, cluster: next });
  return next;
}

function ready(resources: ReadonlyMap<string, unknown>, state: XdsState, key: string): boolean {
  return resources.has(key) || state.settled.has(key);
}

// The latest version of each resource when it is warm; else the active one, if any, stays.
// Resources no longer in `latest` are gone. Returns the latest versions left waiting.
function pick<T>(
  latest: ReadonlyMap<string, Resource<T>>,
  active: ReadonlyMap<string, Resource<T>>,
  warm: (r: Resource<T>) => boolean,
  into: Map<string, Resource<T>>,
): Resource<T>[] {
  const waiting: Resource<T>[] = [];
  for (const [name, resource] of latest) {
    if (warm(resource)) {
      into.set(name, resource);
      continue;
    }
    waiting.push(resource);
    const previous = active.get(name);
    if (previous !== undefined) into.set(name, previous);
  }
  return waiting;
}

// What a listener serves with when its RDS fetch ended without a route config: no routes (404 NR).
function emptyRouteConfig(name: string): RouteConfig {
  return translateRouteConfiguration({ name }).routeConfig;
}

// What an EDS cluster serves with when its fetch ended without a load assignment: no hosts.
function emptyLoadAssignment(name: string): ClusterLoadAssignment {
  return translateClusterLoadAssignment({ cluster_name: name }).loadAssignment;
}
