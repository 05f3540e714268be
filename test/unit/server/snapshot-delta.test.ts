// A forked worker's updates after its first snapshot: the delta carries only what is not the very
// object sent before, and the worker rebuilds the whole snapshot from the one it holds.
import t from 'tap';
import type { Cluster, Listener, RouteConfig } from '../../../proxy/config/model.ts';
import type { Snapshot } from '../../../proxy/config/snapshot.ts';
import { applySnapshotDelta, snapshotDelta } from '../../../proxy/server/snapshot-delta.ts';

const cluster = (name: string, port: number) => ({ name, port }) as unknown as Cluster;
const route = (name: string) => ({ name, virtualHosts: [] }) as unknown as RouteConfig;
const listener = { name: 'l' } as unknown as Listener;
const versions: Snapshot['versions'] = { lds: 'l1', cds: 'c1', rds: {}, eds: {} };

t.test('only new and changed objects travel; the rest is kept as it was', async (t) => {
  const [a, b, c] = [cluster('a', 1), cluster('b', 2), cluster('c', 3)];
  const [r1, r2] = [route('r1'), route('r2')];
  const base: Snapshot = { version: 1, listeners: [listener], clusters: [a, b, c], routeConfigs: { r1, r2 }, versions };
  const b2 = cluster('b', 20);
  const d = cluster('d', 4);
  const r3 = route('r3');
  const next: Snapshot = { version: 2, listeners: [listener], clusters: [a, b2, d], routeConfigs: { r1, r3 }, versions: { ...versions, cds: 'c2' } };

  const delta = snapshotDelta(base, next);
  t.same(delta.clusters.map((x) => x.name), ['b', 'd'], 'changed and new clusters only');
  t.same(delta.removedClusters, ['c']);
  t.same(Object.keys(delta.routeConfigs), ['r3']);
  t.same(delta.removedRouteConfigs, ['r2']);

  // As the worker gets it: a copy, so identity holds only for what it kept.
  const received = structuredClone(delta);
  const rebuilt = applySnapshotDelta(base, received);
  t.same(rebuilt.clusters, [a, b2, d]);
  t.equal(rebuilt.clusters[0], a, 'an unchanged cluster is the object the worker had');
  t.same(rebuilt.routeConfigs, { r1, r3 });
  t.equal(rebuilt.routeConfigs.r1, r1);
  t.equal(rebuilt.version, 2);
  t.throws(() => applySnapshotDelta(rebuilt, received), /delta from version 1, but this worker holds version 2/);
});
