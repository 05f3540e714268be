// What a forked worker is sent instead of a whole snapshot once it holds one: the clusters and
// route configs that are not the very objects it was sent last time, the names of those that
// went, and every listener (there are few). A mesh's snapshot holds thousands of clusters, and
// a structured clone of all of them to every worker for each route change costs far more than
// the change. Plain data only, as messages.ts. The xDS versions are not sent: workers do not read
// them (a worker's stay as its last whole snapshot had them).
import type { Cluster, Listener, RouteConfig } from '../config/model.ts';
import type { Snapshot } from '../config/snapshot.ts';

export interface SnapshotDelta {
  base: number; // the version of the snapshot this applies to
  version: number;
  listeners: Listener[];
  clusters: Cluster[]; // new or changed
  removedClusters: string[];
  routeConfigs: Record<string, RouteConfig>; // new or changed
  removedRouteConfigs: string[];
}

/** The delta from `base` (what the worker holds) to `next`; unchanged means the same object. */
export function snapshotDelta(base: Snapshot, next: Snapshot): SnapshotDelta {
  const before = new Map(base.clusters.map((c) => [c.name, c]));
  const names = new Set(next.clusters.map((c) => c.name));
  const routeConfigs: Record<string, RouteConfig> = {};
  for (const [name, config] of Object.entries(next.routeConfigs)) if (base.routeConfigs[name] !== config) routeConfigs[name] = config;
  return {
    base: base.version,
    version: next.version,
    listeners: next.listeners,
    clusters: next.clusters.filter((c) => before.get(c.name) !== c),
    removedClusters: base.clusters.filter((c) => !names.has(c.name)).map((c) => c.name),
    routeConfigs,
    removedRouteConfigs: Object.keys(base.routeConfigs).filter((name) => !(name in next.routeConfigs)),
  };
}

/** The snapshot a delta describes, from the one it was made against (unchanged parts kept as they are). */
export function applySnapshotDelta(base: Snapshot, delta: SnapshotDelta): Snapshot {
  if (base.version !== delta.base) throw new Error(`a snapshot delta from version ${delta.base}, but this worker holds version ${base.version}`);
  const changed = new Map(delta.clusters.map((c) => [c.name, c]));
  const removed = new Set(delta.removedClusters);
  const clusters: Cluster[] = [];
  for (const c of base.clusters) {
    if (removed.has(c.name)) continue;
    clusters.push(changed.get(c.name) ?? c);
    changed.delete(c.name);
  }
  clusters.push(...changed.values());
  const routeConfigs = { ...base.routeConfigs, ...delta.routeConfigs };
  for (const name of delta.removedRouteConfigs) delete routeConfigs[name];
  return { version: delta.version, listeners: delta.listeners, clusters, routeConfigs, versions: base.versions };
}
