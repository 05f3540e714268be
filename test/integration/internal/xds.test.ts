// Internal listeners over LDS: pushed, they take connections; removed, connections to them fail
// again (503 UF) once the old one has drained; without the bootstrap extension the push is NACKed.
import t from 'tap';
import { httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL, adsBootstrap, answerTo, startManagementServer } from '../../support/xds-proxy.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalTcpListener } from './fixtures.ts';

const LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';

t.test('an internal listener added and removed over LDS', async (t) => {
  const upstream = await startUpstreamFor(t, 'app');
  const xds = await startManagementServer(t);
  xds.setResources(CLUSTER_TYPE_URL, 'c1', []);
  xds.setResources(LISTENER_TYPE_URL, 'l1', []);
  const legate = await startLegate({
    ...adsBootstrap(xds.port, {
      listeners: [httpListener('public', routes([{ match: { prefix: '/' }, route: { cluster: 'to_inner' } }]))],
      clusters: [internalCluster('to_inner', 'inner'), staticCluster('app', [{ port: upstream.port }])],
    }),
    bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION],
  });
  t.teardown(() => legate.stop());

  t.equal((await nodeRequest(legate.url('/before', 'public'))).status, 503, 'no internal listener yet');

  xds.setResources(LISTENER_TYPE_URL, 'l2', [{ '@type': LISTENER, ...internalTcpListener('inner', 'app') }]);
  t.equal((await answerTo(xds, LISTENER_TYPE_URL)).error_detail, undefined, 'the internal listener is ACKed');
  const served = await nodeRequest(legate.url('/pushed', 'public'));
  t.equal(served.status, 200, 'the pushed internal listener serves');
  t.equal((JSON.parse(served.body) as { path: string }).path, '/pushed');

  xds.setResources(LISTENER_TYPE_URL, 'l3', []);
  t.equal((await answerTo(xds, LISTENER_TYPE_URL)).error_detail, undefined);
  // The pooled connection to the removed listener ends when it has drained; then connects fail.
  await waitFor('a 503 after the removal', async () => ((await nodeRequest(legate.url('/after', 'public'))).status === 503 ? true : undefined), 5000, 50);
  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('listener.envoy_internal_inner.downstream_cx_total'), 1);
  t.ok((stats.get('cluster.to_inner.upstream_cx_connect_fail') ?? 0) >= 2, 'before the push and after the removal, connect failures');
});

t.test('an internal listener without the bootstrap extension is NACKed', async (t) => {
  const xds = await startManagementServer(t);
  xds.setResources(CLUSTER_TYPE_URL, 'c1', [{ '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...staticCluster('app', [{ port: 1 }]) }]);
  xds.setResources(LISTENER_TYPE_URL, 'l1', []);
  const legate = await startLegate(adsBootstrap(xds.port));
  t.teardown(() => legate.stop());
  xds.setResources(LISTENER_TYPE_URL, 'l2', [{ '@type': LISTENER, ...internalTcpListener('inner', 'app') }]);
  const nack = await answerTo(xds, LISTENER_TYPE_URL);
  t.match((nack.error_detail as { message: string } | undefined)?.message, /listeners\["inner"\]\.internal_listener: listener 'inner' is internal, but the envoy\.bootstrap\.internal_listener bootstrap extension is not configured/);
});
