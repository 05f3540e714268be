// The waypoint chain istiod writes, with HBONE: a public listener's connection manager routes to
// `main_internal`, whose connection manager routes a service to its cluster of internal endpoints
// on `connect_originate`; there the original_dst listener filter restores the workload's address
// from the endpoint's metadata, and tcp_proxy with tunneling_config (hostname
// %DOWNSTREAM_LOCAL_ADDRESS%, as istiod's connect_originate) carries the bytes in an HTTP/2 CONNECT
// over mutual TLS (ALPN h2) through an ORIGINAL_DST cluster, to a ztunnel-like HBONE server written
// here that joins each CONNECT stream to the address it names. The cluster is istiod's
// connect_originate (HTTP/2 with allow_connect, mTLS with the workload's SAN, and
// original_dst_lb_config: the endpoint metadata names the workload's address, the tunnel's TCP
// connection goes to that IP on the HBONE port, as istiod's 15008, unless the metadata's
// `waypoint` names another address, as istiod's metadata_key: then the tunnel goes there).
import t from 'tap';
import { TCP_PROXY_TYPE, bootstrap, httpListener, routes } from '../../support/bootstrap.ts';
import { nodeRequest, statsMap } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { startUpstreamFor } from '../../support/upstream.ts';
import { certFiles, upstreamTls } from '../tls/support.ts';
import { startHbone } from './hbone-server.ts';
import { INTERNAL_LISTENER_EXTENSION, ORIGINAL_DST_METADATA, internalCluster, internalHttpListener, serviceCluster } from './fixtures.ts';

const PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

t.test('HBONE: a request through the waypoint reaches the workload inside an HTTP/2 CONNECT over mTLS', { skip: opensslMissing() }, async (t) => {
  const workloadA = await startUpstreamFor(t, 'workload-a');
  const workloadB = await startUpstreamFor(t, 'workload-b');
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const ztunnelCert = ca.issue('ztunnel', ['URI:spiffe://cluster.local/ns/default/sa/workload-a']);
  const waypointCert = ca.issue('waypoint', ['URI:spiffe://cluster.local/ns/default/sa/waypoint']);
  const serverTls = { cert: ztunnelCert.cert, key: ztunnelCert.key, ca: ca.cert };
  // The workloads' node (127.0.0.1), and another waypoint that svc-b's endpoint names (127.0.0.2),
  // both on one HBONE port as istiod's 15008 is everywhere.
  const hbone = await startHbone(t, serverTls, '127.0.0.1');
  const otherWaypoint = await startHbone(t, serverTls, '127.0.0.2', hbone.port);

  const connectOriginate = {
    name: 'connect_originate',
    internal_listener: {},
    listener_filters: [{ name: 'envoy.filters.listener.original_dst', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } }],
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: {
      '@type': TCP_PROXY_TYPE,
      stat_prefix: 'connect_originate',
      cluster: 'connect_originate',
      tunneling_config: { hostname: '%DOWNSTREAM_LOCAL_ADDRESS%' },
    } }] }],
  };
  const connectOriginateCluster = {
    name: 'connect_originate',
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: '1s',
    original_dst_lb_config: { upstream_port_override: hbone.port, metadata_key: { key: ORIGINAL_DST_METADATA, path: [{ key: 'waypoint' }] } },
    typed_extension_protocol_options: {
      [PROTOCOL_OPTIONS]: {
        '@type': `type.googleapis.com/${PROTOCOL_OPTIONS}`,
        common_http_protocol_options: { idle_timeout: '3600s' },
        explicit_http_config: { http2_protocol_options: { allow_connect: true } },
      },
    },
    transport_socket: upstreamTls({
      tls_certificates: [certFiles(waypointCert)],
      validation_context: { trusted_ca: { filename: ca.certFile }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/workload-a' } }] },
    }),
  };
  const mainRoutes = routes([{ match: { prefix: '/b/' }, route: { cluster: 'svc-b' } }, { match: { prefix: '/' }, route: { cluster: 'svc-a' } }]);
  const legate = await startLegate(bootstrap(
    [
      httpListener('waypoint', routes([{ match: { prefix: '/' }, route: { cluster: 'main_internal' } }])),
      internalHttpListener('main_internal', 'svc-a', { route_config: mainRoutes }),
      connectOriginate,
    ],
    [
      internalCluster('main_internal', 'main_internal'),
      serviceCluster('svc-a', [`127.0.0.1:${workloadA.port}`]),
      serviceCluster('svc-b', [`127.0.0.1:${workloadB.port}`], `127.0.0.2:${hbone.port}`),
      connectOriginateCluster,
    ],
    { bootstrap_extensions: [INTERNAL_LISTENER_EXTENSION] },
  ));
  t.teardown(() => legate.stop());

  const replies = await Promise.all([1, 2, 3].map((i) => nodeRequest(legate.url(`/a/${i}`, 'waypoint'))));
  t.same(replies.map((r) => r.status), [200, 200, 200]);
  t.same(replies.map((r) => JSON.parse(r.body)), [1, 2, 3].map((i) => ({ upstream: 'workload-a', path: `/a/${i}` })), "through the tunnel to svc-a's workload");
  t.same(new Set(hbone.authorities), new Set([`127.0.0.1:${workloadA.port}`]), "the CONNECT authority is the restored original destination, the workload's own port");
  t.equal(hbone.sessions.length, 1, 'one mTLS connection from the waypoint carries every tunnel');
  t.equal(hbone.sessions[0].alpnProtocol, 'h2');
  t.same(hbone.enableConnect, [true], "allow_connect: the waypoint's SETTINGS carry ENABLE_CONNECT_PROTOCOL");
  t.match(hbone.peers[0], /spiffe:\/\/cluster\.local\/ns\/default\/sa\/waypoint/, "the waypoint's certificate was presented");

  // svc-b's endpoint names a waypoint: the tunnel goes there; the authority is still the workload.
  const b = await nodeRequest(legate.url('/b/1', 'waypoint'));
  t.equal(b.status, 200);
  t.same(JSON.parse(b.body), { upstream: 'workload-b', path: '/b/1' });
  t.same(otherWaypoint.authorities, [`127.0.0.1:${workloadB.port}`], 'metadata_key: the tunnel went to the address the metadata names');
  t.notOk(hbone.authorities.includes(`127.0.0.1:${workloadB.port}`));

  const stats = await statsMap(legate.adminUrl(''));
  t.equal(stats.get('cluster.connect_originate.upstream_cx_http2_total'), 2, 'one connection per HBONE address');
  t.equal(stats.get('cluster.connect_originate.upstream_rq_total'), hbone.authorities.length + otherWaypoint.authorities.length, 'one stream per tunnelled connection');
});
