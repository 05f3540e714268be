// Legate driven over state-of-the-world ADS by a real management server, with real upstreams:
// the first config and readiness, warming, NACKs (the old config keeps serving), removals, EDS.
import t from 'tap';
import type { Test } from 'tap';
import { versionHash } from '../../../proxy/server/xds-stats.ts';
import { fetchJson, fetchText, statsMap, waitFor } from '../../support/http.ts';
import { launchLegate, startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import {
  adsBootstrap,
  CLUSTER_TYPE_URL,
  dynamicDump,
  edsCluster,
  ENDPOINT_TYPE_URL,
  hit,
  LISTENER_TYPE_URL,
  loadAssignment,
  rdsListener,
  ROUTE_TYPE_URL,
  routeConfig,
  setBasicConfig,
  setPairConfig,
  startManagementServer,
  taggedConfig,
  taggedRoute,
} from '../../support/xds-proxy.ts';

// A management server with the basic config to upstream 'a', and Legate started on it.
async function basicLegate(t: Test) {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  setBasicConfig(server, [a.port]);
  const legate = await startLegate(adsBootstrap(server.port));
  t.teardown(() => legate.stop());
  return { server, a, legate };
}

const names = (resources: { name: string }[]) => resources.map((r) => r.name);

t.test('the first complete config over ADS: /ready is 503 until listeners and clusters are warm', async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  const legate = launchLegate(adsBootstrap(server.port));
  t.teardown(() => legate.stop());
  let started = false;
  void legate.started.then(() => (started = true));
  await waitFor('the admin server', () => legate.primary.admin ?? undefined);
  const ready = async () => (await fetchText(legate.adminUrl('/ready'))).status;
  t.equal(await ready(), 503, 'nothing from the control plane yet');

  server.setResources(CLUSTER_TYPE_URL, 'c1', [edsCluster('backend')]);
  server.setResources(LISTENER_TYPE_URL, 'l1', [rdsListener('http', 'local_route')]);
  await server.waitForRequest((r) => r.request.type_url === ROUTE_TYPE_URL && (r.request.resource_names as string[]).includes('local_route'));
  await server.waitForRequest((r) => r.request.type_url === ENDPOINT_TYPE_URL && (r.request.resource_names as string[]).includes('backend'));
  t.equal(await ready(), 503, 'the listener waits for its routes, the cluster for its endpoints');
  t.equal(legate.primary.applied?.listeners.length, 0, 'a warming listener is not bound');
  const warming = await dynamicDump(legate.adminUrl(''));
  t.same(names(warming.listeners.dynamic_warming_listeners), ['http']);
  t.same(names(warming.clusters.dynamic_warming_clusters), ['backend']);
  t.same(names(warming.clusters.dynamic_active_clusters), []);

  server.setResources(ENDPOINT_TYPE_URL, 'e1', [loadAssignment('backend', [a.port])]);
  await server.waitForRequest((r) => r.request.type_url === ENDPOINT_TYPE_URL && r.request.version_info === 'e1');
  t.equal(await ready(), 503, 'still waiting for the routes');
  t.notOk(started);

  server.setResources(ROUTE_TYPE_URL, 'r1', [routeConfig('local_route', 'backend')]);
  await legate.started;
  t.equal(await ready(), 200);
  const reply = await hit(legate.url('/hello', 'http'));
  t.equal(reply.status, 200);
  t.equal(reply.upstream, 'a');

  // Every type ACKed with its version.
  for (const [typeUrl, version] of [[CLUSTER_TYPE_URL, 'c1'], [ENDPOINT_TYPE_URL, 'e1'], [LISTENER_TYPE_URL, 'l1'], [ROUTE_TYPE_URL, 'r1']]) {
    await server.waitForRequest((r) => r.request.type_url === typeUrl && r.request.version_info === version && r.request.error_detail === undefined);
  }
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('control_plane.connected_state'), 1);
  t.equal(stats.get('cluster_manager.cds.update_success'), 1);
  t.equal(stats.get('cluster_manager.cds.version'), versionHash('c1'));
  t.equal(stats.get('listener_manager.lds.update_success'), 1);
  t.equal(stats.get('listener_manager.listener_added'), 1);
  t.equal(stats.get('http.http.rds.local_route.update_success'), 1);
  t.equal(stats.get('http.http.rds.local_route.version'), versionHash('r1'));
  t.equal(stats.get('cluster.backend.update_success'), 1);
  t.equal(stats.get('listener_manager.total_listeners_active'), 1);
  t.equal(stats.get('listener_manager.total_listeners_warming'), 0);
  t.equal(stats.get('cluster_manager.warming_clusters'), 0);
  const dump = await dynamicDump(legate.adminUrl(''));
  t.match(dump.control_plane, { address: server.address, api_type: 'GRPC', connected: true });
  t.match(dump.listeners, { version_info: 'l1', dynamic_active_listeners: [{ name: 'http', version_info: 'l1' }], dynamic_warming_listeners: [] });
  t.match(dump.route_configs.dynamic_route_configs, [{ name: 'local_route', version_info: 'r1' }]);
  t.ok(!Number.isNaN(Date.parse(dump.route_configs.dynamic_route_configs[0].last_updated)), 'last_updated is a time');
});

t.test('a bad RDS push is NACKed with its error; the old routes keep serving', async (t) => {
  const { server, legate } = await basicLegate(t);
  t.equal((await hit(legate.url('/', 'http'))).upstream, 'a');

  const before = server.requests.length;
  server.setResources(ROUTE_TYPE_URL, 'r2', [routeConfig('local_route', 'backend', [{ match: { safe_regex: { regex: '(' } }, route: { cluster: 'backend' } }])]);
  const nack = await server.waitForRequest((r) => r.request.type_url === ROUTE_TYPE_URL && r.request.error_detail !== undefined, { after: before });
  t.equal(nack.request.version_info, 'r1', 'the NACK names the version still in use');
  const detail = nack.request.error_detail as { code: number; message: string };
  t.equal(detail.code, 3);
  t.match(detail.message, /route_configs\["local_route"\]\.virtual_hosts\[0\]\.routes\[0\]/, 'the error names the field');

  const reply = await hit(legate.url('/still', 'http'));
  t.equal(reply.status, 200, 'the last good routes serve');
  t.equal(reply.upstream, 'a');
  const dump = await dynamicDump(legate.adminUrl(''));
  t.match(dump.route_configs.dynamic_route_configs, [{ name: 'local_route', version_info: 'r1' }]);
  t.match(dump.route_configs.last_rejected, { source: 'ads', version_info: 'r2', error: detail.message });
  // In Envoy's shape: the running version, and the refused one as the resource's error_state.
  const routes = await fetchJson<{ configs: Record<string, unknown>[] }>(legate.adminUrl('/config_dump?resource=dynamic_route_configs'));
  t.match(routes.configs, [{
    '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump.DynamicRouteConfig',
    version_info: 'r1',
    route_config: { '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', name: 'local_route' },
    error_state: { version_info: 'r2', details: detail.message, failed_configuration: { name: 'local_route' } },
    client_status: 'NACKED',
  }]);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.http.rds.local_route.update_rejected'), 1);
  t.equal(stats.get('http.http.rds.local_route.version'), versionHash('r1'));

  // The next good push applies.
  server.setResources(ROUTE_TYPE_URL, 'r3', [taggedConfig('r3')]);
  await server.waitForRequest((r) => r.request.type_url === ROUTE_TYPE_URL && r.request.version_info === 'r3', { after: before });
  t.equal((await hit(legate.url('/', 'http'))).headers['x-route'], 'r3');
  const after = await fetchJson<{ configs: Record<string, unknown>[] }>(legate.adminUrl('/config_dump?resource=dynamic_route_configs'));
  t.match(after.configs, [{ version_info: 'r3', client_status: 'ACKED' }]);
  t.notOk('error_state' in after.configs[0], 'an accepted update clears the error state');
});

t.test('a listener that cannot bind is NACKed; the running listeners stay', async (t) => {
  const { server, a, legate } = await basicLegate(t);

  const before = server.requests.length;
  // The upstream holds this port.
  server.setResources(LISTENER_TYPE_URL, 'l2', [rdsListener('http', 'local_route'), rdsListener('clash', 'local_route', { port: a.port })]);
  const nack = await server.waitForRequest((r) => r.request.type_url === LISTENER_TYPE_URL && r.request.error_detail !== undefined, { after: before });
  t.match((nack.request.error_detail as { message: string }).message, /listener 'clash': cannot bind/);
  t.equal(nack.request.version_info, 'l1');
  t.same(legate.primary.applied?.listeners.map((l) => l.name), ['http'], 'the half-applied update was rolled back');
  t.equal((await hit(legate.url('/', 'http'))).status, 200);
  t.match((await dynamicDump(legate.adminUrl(''))).listeners, { version_info: 'l1', last_rejected: { version_info: 'l2' } });

  // The same listener on a free port binds.
  server.setResources(LISTENER_TYPE_URL, 'l3', [rdsListener('http', 'local_route'), rdsListener('clash', 'local_route')]);
  await server.waitForRequest((r) => r.request.type_url === LISTENER_TYPE_URL && r.request.version_info === 'l3', { after: before });
  t.equal((await hit(legate.url('/', 'clash'))).upstream, 'a');
});

t.test('SotW removal: a listener absent from LDS stops accepting; a cluster absent from CDS answers 503 NC', async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  const s = await startUpstreamFor(t, 'spare');
  setPairConfig(server, { backend: a.port, spare: s.port }, 'main');
  const legate = await startLegate(adsBootstrap(server.port));
  t.teardown(() => legate.stop());
  const otherPort = legate.port('other');
  t.equal((await hit(legate.url('/', 'other'))).upstream, 'a');
  t.equal((await hit(legate.url('/spare', 'http'))).upstream, 'spare');

  server.setResources(LISTENER_TYPE_URL, 'l2', [rdsListener('http', 'local_route')]);
  await waitFor('listener other to go', () => (legate.primary.applied?.listeners.some((l) => l.name === 'other') ? undefined : true));
  await t.rejects(hit(`http://127.0.0.1:${otherPort}/`), { code: 'ECONNREFUSED' }, 'the removed listener no longer accepts');
  t.equal((await hit(legate.url('/', 'http'))).upstream, 'a', 'the other listener serves on');

  const before = server.requests.length;
  server.setResources(CLUSTER_TYPE_URL, 'c2', [edsCluster('backend')]);
  const eds = await server.waitForRequest((r) => r.request.type_url === ENDPOINT_TYPE_URL && r.request.error_detail === undefined, { after: before });
  t.same(eds.request.resource_names, ['backend'], 'the removed cluster\'s endpoints are unsubscribed');
  const gone = await hit(legate.url('/spare', 'http'));
  t.equal(gone.status, 503, 'a route to a removed cluster: no cluster');
  t.equal((await statsMap(legate.adminUrl(''))).get('http.http.no_cluster'), 1);
  t.equal((await hit(legate.url('/', 'http'))).upstream, 'a');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('listener_manager.listener_removed'), 1);
  t.equal(stats.get('cluster_manager.cluster_removed'), 1);
});

t.test('EDS: a new endpoint set moves traffic to the new host', async (t) => {
  const { server, legate } = await basicLegate(t);
  const b = await startUpstreamFor(t, 'b');
  t.equal((await hit(legate.url('/', 'http'))).upstream, 'a');

  server.setResources(ENDPOINT_TYPE_URL, 'e2', [loadAssignment('backend', [b.port])]);
  await server.waitForRequest((r) => r.request.type_url === ENDPOINT_TYPE_URL && r.request.version_info === 'e2');
  for (let i = 0; i < 5; i++) t.equal((await hit(legate.url(`/${i}`, 'http'))).upstream, 'b');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.backend.update_success'), 2);
  t.equal(stats.get('cluster.backend.version'), versionHash('e2'));
});

t.test('warming: a changed cluster serves with its old version, a new one is not used, until their endpoints arrive', async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  const b = await startUpstreamFor(t, 'b');
  const f = await startUpstreamFor(t, 'fresh');
  setBasicConfig(server, [a.port]);
  server.setResources(ROUTE_TYPE_URL, 'r1', [routeConfig('local_route', 'backend', [taggedRoute('/fresh', 'fresh', 'fresh'), taggedRoute('/', 'backend', 'main')])]);
  const legate = await startLegate(adsBootstrap(server.port));
  t.teardown(() => legate.stop());
  t.equal((await hit(legate.url('/fresh', 'http'))).status, 503, 'no such cluster yet');

  const before = server.requests.length;
  // backend now takes its endpoints from 'backend-v2', which the server does not have yet.
  server.setResources(CLUSTER_TYPE_URL, 'c2', [edsCluster('backend', { serviceName: 'backend-v2' }), edsCluster('fresh')]);
  await server.waitForRequest((r) => r.request.type_url === ENDPOINT_TYPE_URL && (r.request.resource_names as string[]).includes('backend-v2'), { after: before });
  await server.waitForRequest((r) => r.request.type_url === CLUSTER_TYPE_URL && r.request.version_info === 'c2', { after: before });
  t.equal((await hit(legate.url('/', 'http'))).upstream, 'a', 'the active version serves while the new one warms');
  t.equal((await hit(legate.url('/fresh', 'http'))).status, 503, 'a warming cluster takes no traffic');
  const dump = await dynamicDump(legate.adminUrl(''));
  t.match(dump.clusters.dynamic_active_clusters, [{ name: 'backend', version_info: 'c1' }]);
  t.match(dump.clusters.dynamic_warming_clusters, [{ name: 'backend', version_info: 'c2' }, { name: 'fresh', version_info: 'c2' }]);
  t.equal((await statsMap(legate.adminUrl(''))).get('cluster_manager.warming_clusters'), 2);

  server.setResources(ENDPOINT_TYPE_URL, 'e2', [loadAssignment('backend', [a.port]), loadAssignment('backend-v2', [b.port]), loadAssignment('fresh', [f.port])]);
  await server.waitForRequest((r) => r.request.type_url === ENDPOINT_TYPE_URL && r.request.version_info === 'e2', { after: before });
  t.equal((await hit(legate.url('/', 'http'))).upstream, 'b', 'warm: the new version takes over');
  t.equal((await hit(legate.url('/fresh', 'http'))).upstream, 'fresh');
  const after = await dynamicDump(legate.adminUrl(''));
  t.same(after.clusters.dynamic_warming_clusters, []);
  t.same(names(after.endpoint_configs.dynamic_endpoint_configs).sort(), ['backend-v2', 'fresh'], 'the old assignment is dropped once unused');
});

t.test('warming: a new listener binds once its route config arrives', async (t) => {
  const { server, legate } = await basicLegate(t);

  const before = server.requests.length;
  server.setResources(LISTENER_TYPE_URL, 'l2', [rdsListener('http', 'local_route'), rdsListener('second', 'second_route')]);
  await server.waitForRequest((r) => r.request.type_url === ROUTE_TYPE_URL && (r.request.resource_names as string[]).includes('second_route'), { after: before });
  t.notOk(legate.primary.applied?.listeners.some((l) => l.name === 'second'), 'not bound while warming');
  t.equal((await statsMap(legate.adminUrl(''))).get('listener_manager.total_listeners_warming'), 1);

  server.setResources(ROUTE_TYPE_URL, 'r2', [routeConfig('local_route', 'backend'), routeConfig('second_route', 'backend', [taggedRoute('/', 'backend', 'second')])]);
  await waitFor('listener second', () => legate.primary.applied?.listeners.find((l) => l.name === 'second'));
  const reply = await hit(legate.url('/', 'second'));
  t.equal(reply.upstream, 'a');
  t.equal(reply.headers['x-route'], 'second');
});

t.test('initial_fetch_timeout: without routes and endpoints Legate starts, then takes them when they come', async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  server.setResources(CLUSTER_TYPE_URL, 'c1', [edsCluster('backend')]);
  server.setResources(LISTENER_TYPE_URL, 'l1', [rdsListener('http', 'local_route')]);
  const legate = await startLegate(adsBootstrap(server.port, { initialFetchTimeout: '0.3s' }));
  t.teardown(() => legate.stop());
  t.equal((await fetchText(legate.adminUrl('/ready'))).status, 200);
  t.equal((await hit(legate.url('/', 'http'))).status, 404, 'an empty route config: no route');
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('http.http.rds.local_route.init_fetch_timeout'), 1);
  t.equal(stats.get('cluster.backend.init_fetch_timeout'), 1);

  server.setResources(ROUTE_TYPE_URL, 'r1', [routeConfig('local_route', 'backend')]);
  await server.waitForRequest((r) => r.request.type_url === ROUTE_TYPE_URL && r.request.version_info === 'r1');
  t.equal((await hit(legate.url('/', 'http'))).status, 503, 'routes now; the cluster has no hosts');
  server.setResources(ENDPOINT_TYPE_URL, 'e1', [loadAssignment('backend', [a.port])]);
  await server.waitForRequest((r) => r.request.type_url === ENDPOINT_TYPE_URL && r.request.version_info === 'e1');
  t.equal((await hit(legate.url('/', 'http'))).upstream, 'a');
});

t.test('static resources with RDS and EDS over ADS: no LDS/CDS subscription, served once their resources arrive', async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  const { '@type': _listenerType, ...staticListener } = rdsListener('static_http', 'static_route');
  const { '@type': _clusterType, ...staticEds } = edsCluster('static_backend');
  const legate = launchLegate(adsBootstrap(server.port, { ldsAndCds: false, listeners: [staticListener], clusters: [staticEds] }));
  t.teardown(() => legate.stop());
  await server.waitForRequest((r) => r.request.type_url === ROUTE_TYPE_URL);
  await waitFor('the admin server', () => legate.primary.admin ?? undefined);
  t.equal((await fetchText(legate.adminUrl('/ready'))).status, 503, 'static resources wait for RDS and EDS too');

  server.setResources(ENDPOINT_TYPE_URL, 'e1', [loadAssignment('static_backend', [a.port])]);
  server.setResources(ROUTE_TYPE_URL, 'r1', [routeConfig('static_route', 'static_backend')]);
  await legate.started;
  t.equal((await hit(legate.url('/', 'static_http'))).upstream, 'a');
  const types = new Set(server.requests.map((r) => r.request.type_url));
  t.same([...types].sort(), [ENDPOINT_TYPE_URL, ROUTE_TYPE_URL].sort(), 'only the named types are requested');
  t.equal((await statsMap(legate.adminUrl(''))).get('http.static_http.rds.static_route.update_success'), 1);
});
