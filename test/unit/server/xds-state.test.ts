// The pure half of dynamic config: applying updates to the state and composing snapshots, with
// Envoy's warming (an updated resource stays at its active version until the new one is warm).
import t from 'tap';
import type { ResourceUpdate } from '../../../xds-client/index.ts';
import { applyUpdate, changedEndpoints, changedRoutes, compose, dependencyKey, initialState, type Composition, type XdsState } from '../../../proxy/server/xds-state.ts';
import { edsCluster, loadAssignment, rdsListener, routeConfig } from '../../support/xds-proxy.ts';

const statics = { listeners: [], clusters: [], routeConfigs: {} };
const none: Composition['active'] = { listeners: new Map(), clusters: new Map() };

function update(version: string, resources: { name: string; resource: object }[], opts: Partial<ResourceUpdate> = {}): ResourceUpdate {
  return { version, resources: resources.map((r) => ({ name: r.name, version, resource: r.resource as never })), removed: [], complete: true, ...opts };
}

function apply(state: XdsState, kind: 'lds' | 'cds' | 'rds' | 'eds', u: ResourceUpdate, now = 1): XdsState {
  return applyUpdate(state, kind, 'ads', u, now, true).state;
}

t.test('an EDS cluster enters once its endpoints arrive; an updated one keeps its active version meanwhile', async (t) => {
  let state = apply(initialState('', ''), 'cds', update('c1', [{ name: 'backend', resource: edsCluster('backend') }]));
  let c = compose(statics, state, none);
  t.same(c.parts.clusters, [], 'warming: not in the snapshot');
  t.same(c.warmingClusters.map((r) => r.name), ['backend']);
  t.equal(c.pending, 1);
  t.ok(c.endpoints.has(dependencyKey({ source: 'ads', name: 'backend' })), 'its endpoints are wanted');

  state = apply(state, 'eds', update('e1', [{ name: 'backend', resource: loadAssignment('backend', [9001]) }], { complete: false }));
  c = compose(statics, state, c.active);
  t.same(c.parts.clusters.map((x) => x.loadAssignment.endpoints[0].lbEndpoints[0].address.port), [9001]);
  t.equal(c.pending, 0);
  t.same(c.parts.versions.eds, { backend: 'e1' });

  state = apply(state, 'cds', update('c2', [{ name: 'backend', resource: edsCluster('backend', { serviceName: 'v2' }) }]));
  const warming = compose(statics, state, c.active);
  t.equal(warming.active.clusters.get('backend')?.version, 'c1', 'the active version stays');
  t.equal(warming.parts.clusters[0].edsServiceName, 'backend');
  t.same(warming.warmingClusters.map((r) => r.version), ['c2']);
  t.same([...warming.endpoints.values()].map((d) => d.name).sort(), ['backend', 'v2'], 'both assignments are wanted while it warms');

  const settled = compose(statics, { ...state, settled: new Set([dependencyKey({ source: 'ads', name: 'v2' })]) }, warming.active);
  t.equal(settled.active.clusters.get('backend')?.version, 'c2', 'once its fetch is over it goes on without hosts');
  t.same(settled.parts.clusters[0].loadAssignment.endpoints, []);
});

t.test('a listener waits for its route config; its inline and RDS configs are in the parts', async (t) => {
  let state = apply(initialState('', 'static'), 'lds', update('l1', [{ name: 'http', resource: rdsListener('http', 'local_route') }]));
  let c = compose(statics, state, none);
  t.same(c.parts.listeners, []);
  t.same([...c.routes.values()].map((d) => [d.name, [...d.users]]), [['local_route', ['http']]], 'wanted by the HCM stat prefix');
  state = apply(state, 'rds', update('r1', [{ name: 'local_route', resource: routeConfig('local_route', 'backend') }], { complete: false }));
  c = compose(statics, state, c.active);
  t.same(c.parts.listeners.map((l) => l.name), ['http']);
  t.same(Object.keys(c.parts.routeConfigs), ['local_route']);
  t.same(c.parts.versions, { lds: 'l1', cds: 'static', rds: { local_route: 'r1' }, eds: {} });
});

t.test('updates: unchanged resources keep their version, SotW absence removes, bad resources throw', async (t) => {
  const first = applyUpdate(initialState('', ''), 'lds', 'ads', update('l1', [
    { name: 'a', resource: rdsListener('a', 'r') },
    { name: 'b', resource: rdsListener('b', 'r') },
  ]), 1, true);
  t.same(first.added, ['a', 'b']);
  const second = applyUpdate(first.state, 'lds', 'ads', update('l2', [{ name: 'a', resource: rdsListener('a', 'r') }]), 2, true);
  t.same(second.removed, ['b']);
  t.same(second.added, []);
  t.same(second.modified, []);
  t.match(second.state.listeners.get('a'), { version: 'l1', lastUpdated: 1 }, 'unchanged: same version and time');
  t.equal(second.state.ldsVersion, 'l2');

  const delta = applyUpdate(second.state, 'lds', 'ads', update('', [], { complete: false, removed: ['a'] }), 3, true);
  t.same(delta.removed, ['a']);

  t.throws(() => applyUpdate(first.state, 'lds', 'ads', update('l3', [{ name: 'a', resource: { ...rdsListener('a', 'r'), address: {} } }]), 4, true), /listeners\["a"\]\.address/);
  t.throws(() => applyUpdate(first.state, 'lds', 'ads', update('l3', [{ name: 'c', resource: rdsListener('c', 'r') }]), 4, false), /listeners\["c"\].*gets routes over ADS but there is no ads_config/);
  t.throws(() => applyUpdate(first.state, 'cds', 'ads', update('c1', [{ name: 'x', resource: edsCluster('x') }]), 4, false), /clusters\["x"\].*no ads_config/);
});

t.test('route configs and load assignments are never removed by an update', async (t) => {
  let state = apply(initialState('', ''), 'rds', update('r1', [{ name: 'r', resource: routeConfig('r', 'c') }], { complete: false }));
  state = apply(state, 'rds', update('r2', [], { complete: true, removed: ['r'] }));
  t.ok(state.routeConfigs.has(dependencyKey({ source: 'ads', name: 'r' })), 'Envoy ignores an RDS removal');
});

t.test('an endpoint change alone changes only the clusters using it; one that ends warming needs a compose', async (t) => {
  const key = (name: string) => dependencyKey({ source: 'ads', name });
  let state = apply(initialState('', ''), 'cds', update('c1', ['a', 'b', 'c'].map((name) => ({ name, resource: edsCluster(name) }))));
  state = apply(state, 'eds', update('e1', ['a', 'b'].map((name) => ({ name, resource: loadAssignment(name, [9001]) })), { complete: false }));
  const c = compose(statics, state, none);
  t.same(c.parts.clusters.map((x) => x.name), ['a', 'b'], 'c warms');

  const next = apply(state, 'eds', update('e2', [{ name: 'b', resource: loadAssignment('b', [9002]) }], { complete: false }));
  const change = changedEndpoints(c, state, next, [key('b')]);
  t.ok(change);
  t.same(change!.clusters.map((x) => [x.name, x.loadAssignment.endpoints[0].lbEndpoints[0].address.port]), [['b', 9002]]);
  t.equal(change!.parts.clusters[0], c.parts.clusters[0], 'the others are the same objects');
  t.same(change!.parts.versions.eds, { a: 'e1', b: 'e2' });
  t.same(change!.parts, compose(statics, next, c.active).parts, 'what a compose would give');

  const warm = apply(state, 'eds', update('e2', [{ name: 'c', resource: loadAssignment('c', [9003]) }], { complete: false }));
  t.equal(changedEndpoints(c, state, warm, [key('c')]), undefined, 'c leaves warming: compose again');
});

t.test('a route config change alone replaces it in the parts; one a listener waited for needs a compose', async (t) => {
  const key = (name: string) => dependencyKey({ source: 'ads', name });
  let state = apply(initialState('', 'static'), 'lds', update('l1', [{ name: 'a', resource: rdsListener('a', 'ra') }, { name: 'b', resource: rdsListener('b', 'rb') }]));
  state = apply(state, 'rds', update('r1', [{ name: 'ra', resource: routeConfig('ra', 'x') }], { complete: false }));
  const c = compose(statics, state, none);
  t.same(c.parts.listeners.map((l) => l.name), ['a'], 'b waits for rb');

  const next = apply(state, 'rds', update('r2', [{ name: 'ra', resource: routeConfig('ra', 'y') }], { complete: false }));
  const parts = changedRoutes(c, state, next, [key('ra')]);
  t.same(parts, compose(statics, next, c.active).parts, 'what a compose would give');
  t.equal(parts!.listeners, c.parts.listeners, 'the rest is as it was');

  const warm = apply(state, 'rds', update('r2', [{ name: 'rb', resource: routeConfig('rb', 'y') }], { complete: false }));
  t.equal(changedRoutes(c, state, warm, [key('rb')]), undefined, 'b leaves warming: compose again');
});
