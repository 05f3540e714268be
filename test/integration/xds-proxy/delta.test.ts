// The same flows over incremental (delta) ADS: the first config, an EDS change, a NACK that keeps
// the old routes, and removals through removed_resources.
import t from 'tap';
import { statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import {
  adsBootstrap,
  answerTo,
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
  setPairConfig,
  startManagementServer,
} from '../../support/xds-proxy.ts';

t.test('delta ADS: config, EDS change, NACK, removal', async (t) => {
  const server = await startManagementServer(t);
  const a = await startUpstreamFor(t, 'a');
  const b = await startUpstreamFor(t, 'b');
  const s = await startUpstreamFor(t, 'spare');
  setPairConfig(server, { backend: a.port, spare: s.port }, 'r1');
  const legate = await startLegate(adsBootstrap(server.port, { apiType: 'DELTA_GRPC' }));
  t.teardown(() => legate.stop());
  t.ok(server.requests.length > 0 && server.requests.every((r) => r.delta), 'every request is a delta request');
  t.equal((await hit(legate.url('/', 'http'))).upstream, 'a');
  t.equal((await hit(legate.url('/spare', 'other'))).upstream, 'spare');
  t.match((await dynamicDump(legate.adminUrl(''))).control_plane, { api_type: 'DELTA_GRPC', connected: true });

  t.test('an EDS change moves traffic', async (t) => {
    server.setResources(ENDPOINT_TYPE_URL, 'e2', [loadAssignment('backend', [b.port]), loadAssignment('spare', [s.port])]);
    t.equal((await answerTo(server, ENDPOINT_TYPE_URL)).error_detail, undefined);
    const sent = server.lastResponse(ENDPOINT_TYPE_URL)!.response.resources as unknown[];
    t.equal(sent.length, 1, 'only the changed assignment was sent');
    t.equal((await hit(legate.url('/', 'http'))).upstream, 'b');
  });

  t.test('a bad route config is NACKed; the old one serves', async (t) => {
    server.setResources(ROUTE_TYPE_URL, 'r2', [routeConfig('local_route', 'backend', [{ match: { safe_regex: { regex: '[' } }, route: { cluster: 'backend' } }])]);
    const nack = await answerTo(server, ROUTE_TYPE_URL);
    t.match(nack.error_detail, { code: 3, message: /route_configs\["local_route"\]/ });
    const reply = await hit(legate.url('/', 'http'));
    t.equal(reply.status, 200);
    t.equal(reply.headers['x-route'], 'r1');
    t.equal((await statsMap(legate.adminUrl(''))).get('http.http.rds.local_route.update_rejected'), 1);
  });

  t.test('removed_resources removes a listener and a cluster', async (t) => {
    const otherPort = legate.port('other');
    server.setResources(LISTENER_TYPE_URL, 'l2', [rdsListener('http', 'local_route')]);
    t.same(server.lastResponse(LISTENER_TYPE_URL)?.response.removed_resources, ['other']);
    t.equal((await answerTo(server, LISTENER_TYPE_URL)).error_detail, undefined);
    await t.rejects(hit(`http://127.0.0.1:${otherPort}/`), { code: 'ECONNREFUSED' });

    server.setResources(CLUSTER_TYPE_URL, 'c2', [edsCluster('backend')]);
    t.same(server.lastResponse(CLUSTER_TYPE_URL)?.response.removed_resources, ['spare']);
    t.equal((await answerTo(server, CLUSTER_TYPE_URL)).error_detail, undefined);
    t.equal((await hit(legate.url('/spare', 'http'))).status, 503);
    t.equal((await hit(legate.url('/', 'http'))).upstream, 'b');
    await waitFor('the EDS unsubscribe', () => server.requests.find((r) => r.request.type_url === ENDPOINT_TYPE_URL && (r.request.resource_names_unsubscribe as string[] | undefined)?.includes('spare')));
    const dump = await dynamicDump(legate.adminUrl(''));
    t.same(dump.listeners.dynamic_active_listeners.map((l) => l.name), ['http']);
    t.same(dump.clusters.dynamic_active_clusters.map((c) => c.name), ['backend']);
  });
});
