// An older istiod's waypoint chain (before 1.20), pushed over ADS from a real xDS server: each
// workload endpoint on connect_originate carries the dynamic metadata `tunnel` {destination: the
// workload, address: where to tunnel}, passed through by the cluster's internal_upstream;
// connect_originate's listener filter istio.set_internal_dst_address makes `destination` the
// connection's local address (the CONNECT authority, %DOWNSTREAM_LOCAL_ADDRESS%) and `address` the
// ORIGINAL_DST cluster's host (no original_dst_lb_config: the old cluster had none). svc-b's
// endpoint names another HBONE address (its waypoint): the tunnel goes there, the authority stays
// the workload's. On a listener that is not internal the filter is NACKed by name.
import t from 'tap';
import { TCP_PROXY_TYPE, httpListener, routes, socketAddress } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL, adsBootstrap, answerTo, startManagementServer } from '../../support/xds-proxy.ts';
import { certFiles, upstreamTls } from '../tls/support.ts';
import { startHbone } from './hbone-server.ts';
import { INTERNAL_LISTENER_EXTENSION, internalCluster, internalHttpListener } from './fixtures.ts';

const TYPE = 'type.googleapis.com/';
const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const SET_DST_ADDRESS = {
  name: 'set_dst_address',
  typed_config: { '@type': `${TYPE}udpa.type.v1.TypedStruct`, type_url: `${TYPE}istio.set_internal_dst_address.v1.Config` },
};

const listener = (l: object) => ({ '@type': `${TYPE}envoy.config.listener.v3.Listener`, ...l }) as never;
const cluster = (c: object) => ({ '@type': `${TYPE}envoy.config.cluster.v3.Cluster`, ...c }) as never;

// A service's cluster as the old istiod wrote it: internal endpoints on connect_originate with `tunnel` metadata.
function tunnelServiceCluster(name: string, workload: string, tunnel: string) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    transport_socket: {
      name: 'envoy.transport_sockets.internal_upstream',
      typed_config: {
        '@type': `${TYPE}envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport`,
        passthrough_metadata: [{ kind: { host: {} }, name: 'tunnel' }],
        transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': `${TYPE}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer` } },
      },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{
        endpoint: { address: { envoy_internal_address: { server_listener_name: 'connect_originate', endpoint_id: workload } } },
        metadata: { filter_metadata: { tunnel: { destination: workload, address: tunnel } } },
      }] }],
    },
  };
}

t.test('set_internal_dst_address on connect_originate: the tunnel metadata picks the authority and the HBONE host', { skip: opensslMissing(), timeout: 30_000 }, async (t) => {
  const workloadA = await startUpstreamFor(t, 'workload-a');
  const workloadB = await startUpstreamFor(t, 'workload-b');
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const ztunnelCert = ca.issue('ztunnel', ['URI:spiffe://cluster.local/ns/default/sa/workload-a']);
  const waypointCert = ca.issue('waypoint', ['URI:spiffe://cluster.local/ns/default/sa/waypoint']);
  const serverTls = { cert: ztunnelCert.cert, key: ztunnelCert.key, ca: ca.cert };
  const hbone = await startHbone(t, serverTls, '127.0.0.1');
  const otherWaypoint = await startHbone(t, serverTls, '127.0.0.2', hbone.port);

  const xds = await startManagementServer(t);
  xds.setResources(CLUSTER_TYPE_URL, 'c1', [
    cluster(internalCluster('main_internal', 'main_internal')),
    cluster(tunnelServiceCluster('svc-a', `127.0.0.1:${workloadA.port}`, `127.0.0.1:${hbone.port}`)),
    cluster(tunnelServiceCluster('svc-b', `127.0.0.1:${workloadB.port}`, `127.0.0.2:${hbone.port}`)),
    cluster({
      name: 'connect_originate',
      type: 'ORIGINAL_DST',
      lb_policy: 'CLUSTER_PROVIDED',
      connect_timeout: '1s',
      typed_extension_protocol_options: {
        [PROTOCOL_OPTIONS]: { '@type': `${TYPE}${PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: { allow_connect: true } } },
      },
      transport_socket: upstreamTls({
        tls_certificates: [certFiles(waypointCert)],
        validation_context: { trusted_ca: { filename: ca.certFile }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/workload-a' } }] },
      }),
    }),
  ]);
  const mainRoutes = routes([{ match: { prefix: '/b/' }, route: { cluster: 'svc-b' } }, { match: { prefix: '/' }, route: { cluster: 'svc-a' } }]);
  xds.setResources(LISTENER_TYPE_URL, 'l1', [
    listener(httpListener('waypoint', routes([{ match: { prefix: '/' }, route: { cluster: 'main_internal' } }]))),
    listener(internalHttpListener('main_internal', 'svc-a', { route_config: mainRoutes })),
    listener({
      name: 'connect_originate',
      internal_listener: {},
      use_original_dst: false,
      listener_filters: [SET_DST_ADDRESS],
      filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: {
        '@type': TCP_PROXY_TYPE,
        stat_prefix: 'connect_originate',
        cluster: 'connect_originate',
        tunneling_config: { hostname: '%DOWNSTREAM_LOCAL_ADDRESS%' },
      } }] }],
    }),
  ]);
  const legate = await startLegate({ ...adsBootstrap(xds.port), bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] });
  t.teardown(() => legate.stop());
  t.equal((await answerTo(xds, CLUSTER_TYPE_URL)).error_detail, undefined, 'the clusters are ACKed');
  t.equal((await answerTo(xds, LISTENER_TYPE_URL)).error_detail, undefined, 'connect_originate with set_internal_dst_address is ACKed');
  const port = await waitFor('the waypoint listener bound', () => {
    try {
      return legate.port('waypoint');
    } catch {
      return undefined;
    }
  });

  const replies = await Promise.all([1, 2].map((i) => nodeRequest(`http://127.0.0.1:${port}/a/${i}`)));
  t.same(replies.map((r) => r.status), [200, 200]);
  t.same(replies.map((r) => JSON.parse(r.body)), [1, 2].map((i) => ({ upstream: 'workload-a', path: `/a/${i}` })), "through the tunnel to svc-a's workload");
  t.same(new Set(hbone.authorities), new Set([`127.0.0.1:${workloadA.port}`]), "the CONNECT authority is tunnel.destination, the workload's own port");

  const b = await nodeRequest(`http://127.0.0.1:${port}/b/1`);
  t.equal(b.status, 200);
  t.same(JSON.parse(b.body), { upstream: 'workload-b', path: '/b/1' });
  t.same(otherWaypoint.authorities, [`127.0.0.1:${workloadB.port}`], 'tunnel.address sent the tunnel to the other HBONE address, with the workload as authority');
  t.notOk(hbone.authorities.includes(`127.0.0.1:${workloadB.port}`));

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.connect_originate.upstream_cx_http2_total'), 2, 'one HBONE connection per tunnel address');
  t.equal(stats.get('listener.envoy_internal_connect_originate.downstream_cx_total'), 3);
});

t.test('set_internal_dst_address on a listener with a socket is NACKed by name', async (t) => {
  const xds = await startManagementServer(t);
  xds.setResources(CLUSTER_TYPE_URL, 'c1', []);
  xds.setResources(LISTENER_TYPE_URL, 'l1', []);
  const legate = await startLegate(adsBootstrap(xds.port));
  t.teardown(() => legate.stop());
  xds.setResources(LISTENER_TYPE_URL, 'l2', [listener({
    name: 'outside',
    address: socketAddress('127.0.0.1', 0),
    listener_filters: [SET_DST_ADDRESS],
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 'o', cluster: 'c' } }] }],
  })]);
  const nack = await answerTo(xds, LISTENER_TYPE_URL);
  t.match((nack.error_detail as { message?: string } | undefined)?.message, /listener_filters\[0\]\.typed_config: not supported by Legate: istio\.set_internal_dst_address\.v1\.Config on a listener that is not internal/);
});
