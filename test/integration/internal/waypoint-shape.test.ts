// The shape istiod gives a waypoint, minus HBONE: a public listener's connection manager routes
// to the `main_internal` internal listener, whose connection manager routes each service to a
// cluster of internal endpoints on `connect_originate` (endpoint_id and the endpoint's
// envoy.filters.listener.original_dst metadata name the workload), passed through by the
// cluster's internal_upstream transport socket; `connect_originate` restores that destination
// with the original_dst listener filter and its tcp_proxy reaches it through an ORIGINAL_DST
// cluster. (istiod then wraps the bytes in HBONE with tunneling_config, not used here.)
import t from 'tap';
import { TCP_PROXY_TYPE, bootstrap, httpListener, routes } from '../../support/bootstrap.ts';
import { fetchText, nodeRequest } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalHttpListener, serviceCluster } from './fixtures.ts';

t.test("a waypoint's internal listener chain: main_internal, then connect_originate to each workload", async (t) => {
  const a = await startUpstreamFor(t, 'workload-a');
  const b = await startUpstreamFor(t, 'workload-b');
  const connectOriginate = {
    name: 'connect_originate',
    internal_listener: {},
    listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } }],
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: {
      '@type': TCP_PROXY_TYPE,
      stat_prefix: 'connect_originate',
      cluster: 'original_dst',
    } }] }],
  };
  const mainInternal = internalHttpListener('main_internal', 'unused', {
    route_config: routes([
      { match: { prefix: '/a' }, route: { cluster: 'svc-a' } },
      { match: { prefix: '/b' }, route: { cluster: 'svc-b' } },
    ]),
  });
  const legate = await startLegate(bootstrap(
    [httpListener('waypoint', routes([{ match: { prefix: '/' }, route: { cluster: 'main_internal' } }])), mainInternal, connectOriginate],
    [
      internalCluster('main_internal', 'main_internal'),
      serviceCluster('svc-a', [`127.0.0.1:${a.port}`]),
      serviceCluster('svc-b', [`127.0.0.1:${b.port}`]),
      { name: 'original_dst', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s' },
    ],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ));
  t.teardown(() => legate.stop());

  const toA = await nodeRequest(legate.url('/a/1', 'waypoint'));
  t.equal(toA.status, 200);
  t.same(JSON.parse(toA.body), { upstream: 'workload-a', path: '/a/1' }, "svc-a's workload, the address its endpoint's metadata named");
  const toB = await nodeRequest(legate.url('/b/1', 'waypoint'));
  t.same(JSON.parse(toB.body), { upstream: 'workload-b', path: '/b/1' });
  t.same(a.seen.map((r) => r.url), ['/a/1']);
  t.same(b.seen.map((r) => r.url), ['/b/1']);
  // connect_originate's ORIGINAL_DST cluster made one host per restored destination.
  const clusters = (await fetchText(legate.adminUrl('/clusters'))).body;
  t.match(clusters, `original_dst::127.0.0.1:${a.port}::cx_total::1`);
  t.match(clusters, `original_dst::127.0.0.1:${b.port}::cx_total::1`);
  t.match(clusters, `svc-a::envoy://connect_originate/127.0.0.1:${a.port}::cx_total::1`, 'the internal host is named by its address');
});
