// Istio's mesh with Legate as both sidecars, configured the way istiod configures Envoy: each
// sidecar's bootstrap has pilot-agent's shape (node metadata, ADS over a Unix socket, the 15090
// Prometheus listener, Istio's stats_config), and a test control plane serves it istiod-shaped
// resources over delta ADS: virtualOutbound / virtualInbound with original_dst, the service's
// outbound listener with RDS, EDS clusters with Istio's metadata, the upstream metadata exchange
// in Cluster.filters, mutual TLS with SPIFFE identities, and Istio's HTTP filters (istio.alpn
// offering istio-http/1.1, which the server's mutual TLS HTTP chain matches on). In namespaces
// on one closed L2 segment (no route out), with `legate iptables apply` capturing traffic:
//
//   a  10.240.0.2   productpage + its sidecar; calls reviews' VIP 10.241.0.3:9080
//   b  10.240.0.3   reviews + its sidecar
//
// Every resource is ACKed, calls go through both sidecars over mutual TLS, and each sidecar's
// 15090 shows istio_requests_total with the source and destination workloads and principals.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { originalDstAvailable } from '../../proxy/listener/original-dst/index.ts';
import { createBridge, getJson, joinBridge, startLegate } from '../support/mesh.ts';
import { createNetns, netnsSkipReason, type Netns } from '../support/netns.ts';
import { createTestCa, opensslMissing, type LeafCert } from '../support/test-ca.ts';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../support/xds-proxy.ts';
import { XdsServer } from '../support/xds-server.ts';
import type { JsonObject } from '../../xds-client/index.ts';
import { series } from '../support/prometheus.ts';

const CLI = new URL('../../proxy/cli.ts', import.meta.url).pathname;
const PEER = new URL('../support/mesh-peer.ts', import.meta.url).pathname;
const TYPE = 'type.googleapis.com/';
const HCM = `${TYPE}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const TCP_PROXY = `${TYPE}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`;
const TYPED_STRUCT = `${TYPE}udpa.type.v1.TypedStruct`;
const REVIEWS_VIP = '10.241.0.3';
const SERVICE = 'reviews.default.svc.cluster.local';
const OUTBOUND = `outbound|9080||${SERVICE}`;

const typed = (typeUrl: string, value: object) => ({ '@type': TYPED_STRUCT, type_url: `${TYPE}${typeUrl}`, value });
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.router.v3.Router` } };
const ORIGINAL_DST = { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': `${TYPE}envoy.extensions.filters.listener.original_dst.v3.OriginalDst` } };
const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': `${TYPE}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector` } };
const ISTIO_STATS = { name: 'istio.stats', typed_config: typed('stats.PluginConfig', {}) };
// istiod's istio.alpn, packed as its own message (not a TypedStruct).
const ALPN = { name: 'istio.alpn', typed_config: { '@type': `${TYPE}istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig`, alpn_override: [
  { upstream_protocol: 'HTTP10', alpn_override: ['istio-http/1.0', 'istio', 'http/1.0'] },
  { upstream_protocol: 'HTTP11', alpn_override: ['istio-http/1.1', 'istio', 'http/1.1'] },
  { upstream_protocol: 'HTTP2', alpn_override: ['istio-h2', 'istio', 'h2'] },
] } };
const MX_CLUSTER_FILTER = { name: 'istio.metadata_exchange', typed_config: typed('envoy.tcp.metadataexchange.config.MetadataExchange', { protocol: 'istio-peer-exchange', enable_discovery: true }) };
const peerMetadata = (side: 'upstream' | 'downstream') => ({
  name: 'istio.metadata_exchange',
  typed_config: typed('io.istio.http.peer_metadata.Config', {
    [`${side}_discovery`]: [{ istio_headers: {} }, { workload_discovery: {} }],
    [`${side}_propagation`]: [{ istio_headers: {} }],
  }),
});
const address = (ip: string, port: number) => ({ socket_address: { address: ip, port_value: port } });
const tcpProxy = (cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: cluster, cluster } });
const ads = { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' };
const STATS_CONFIG = {
  use_all_default_tags: false,
  stats_matcher: { inclusion_list: { patterns: [{ prefix: 'reporter=' }, { prefix: 'cluster_manager' }, { prefix: 'listener_manager' }, { prefix: 'server' }, { prefix: 'istio' }] } },
};
const tlsContext = (leaf: LeafCert, ca: string) => ({ tls_certificates: [{ certificate_chain: { filename: leaf.certFile }, private_key: { filename: leaf.keyFile } }], validation_context: { trusted_ca: { filename: ca } } });

// pilot-agent's bootstrap: the node, the admin, ADS over the agent's XDS socket, 15090.
function bootstrap(app: string, xdsSocket: string) {
  const workload = `${app}-v1`;
  return {
    node: {
      id: `sidecar~10.240.0.2~${workload}-abc12.default~default.svc.cluster.local`,
      cluster: `${app}.default`,
      metadata: {
        NAME: `${workload}-abc12`, NAMESPACE: 'default', WORKLOAD_NAME: workload, CLUSTER_ID: 'Kubernetes', ISTIO_VERSION: '1.27.0',
        OWNER: `kubernetes://apis/apps/v1/namespaces/default/deployments/${workload}`,
        LABELS: { app, version: 'v1', 'service.istio.io/canonical-name': app, 'service.istio.io/canonical-revision': 'v1' },
      },
    },
    admin: { address: address('127.0.0.1', 15000) },
    stats_config: STATS_CONFIG,
    dynamic_resources: {
      lds_config: ads,
      cds_config: ads,
      ads_config: { api_type: 'DELTA_GRPC', transport_api_version: 'V3', set_node_on_first_message_only: true, grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: {
      clusters: [
        {
          name: 'xds-grpc', type: 'STATIC', connect_timeout: '1s',
          load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: xdsSocket } } } }] }] },
          typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': `${TYPE}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`, explicit_http_config: { http2_protocol_options: {} } } },
        },
        { name: 'prometheus_stats', type: 'STATIC', connect_timeout: '0.250s', load_assignment: { cluster_name: 'prometheus_stats', endpoints: [{ lb_endpoints: [{ endpoint: { address: address('127.0.0.1', 15000) } }] }] } },
      ],
      listeners: [{
        name: '0.0.0.0_15090', address: address('0.0.0.0', 15090),
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM, stat_prefix: 'stats', codec_type: 'AUTO', http_filters: [ROUTER],
          route_config: { virtual_hosts: [{ name: 'backend', domains: ['*'], routes: [{ match: { prefix: '/stats/prometheus' }, route: { cluster: 'prometheus_stats' } }] }] },
        } }] }],
      }],
    },
  };
}

// Istio's capture listeners: 15001 hands connections to the listener of their original
// destination, else passes them through; 15006 takes connections to the app.
function virtualOutbound(): JsonObject {
  return {
    '@type': `${TYPE}envoy.config.listener.v3.Listener`,
    name: 'virtualOutbound', address: address('0.0.0.0', 15001), use_original_dst: true, traffic_direction: 'OUTBOUND',
    listener_filters: [ORIGINAL_DST],
    filter_chains: [{ name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: 15001 }, filters: [tcpProxy('BlackHoleCluster')] }],
    default_filter_chain: { name: 'PassthroughFilterChain', filters: [tcpProxy('PassthroughCluster')] },
  };
}

function virtualInbound(chains: JsonObject[]): JsonObject {
  return {
    '@type': `${TYPE}envoy.config.listener.v3.Listener`,
    name: 'virtualInbound', address: address('0.0.0.0', 15006), traffic_direction: 'INBOUND',
    listener_filters: [ORIGINAL_DST, TLS_INSPECTOR],
    filter_chains: chains,
    default_filter_chain: { name: 'virtualInbound-catchall-tcp', filters: [tcpProxy('InboundPassthroughClusterIpv4')] },
  };
}

const cluster = (name: string, extra: object) => ({ '@type': `${TYPE}envoy.config.cluster.v3.Cluster`, name, connect_timeout: '1s', ...extra });
const passthroughClusters = [
  cluster('PassthroughCluster', { type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }),
  cluster('BlackHoleCluster', { type: 'STATIC' }),
  cluster('InboundPassthroughClusterIpv4', { type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } }),
];

const opensslSkip = opensslMissing();
const available = originalDstAvailable();
const curl = spawnSync('sh', ['-c', 'command -v curl']).status === 0;
const skip =
  netnsSkipReason(['iptables', 'iptables-restore', 'ip6tables-restore', 'iptables-save', 'ip6tables-save']) ||
  (curl ? false : 'needs curl (apt-get install curl)') ||
  (available.ok ? false : `original_dst unavailable: ${available.reason}`) ||
  opensslSkip;

// Every type the server sent was ACKed at its latest version.
function allAcked(server: XdsServer): string[] {
  const problems: string[] = [];
  for (const typeUrl of [LISTENER_TYPE_URL, CLUSTER_TYPE_URL, ROUTE_TYPE_URL, ENDPOINT_TYPE_URL]) {
    const nacks = server.requests.filter((r) => r.request.type_url === typeUrl && r.request.error_detail !== undefined);
    for (const nack of nacks) problems.push(`${typeUrl}: ${JSON.stringify(nack.request.error_detail)}`);
  }
  return problems;
}

const prometheus = async (ns: Netns) => ns.exec('curl', ['-sS', '--max-time', '10', 'http://127.0.0.1:15090/stats/prometheus']);

t.test('two Legate sidecars under an istiod-shaped control plane', { skip, timeout: 120_000 }, async (t) => {
  // Files the sidecars read after dropping to uid 1337: sockets and certificates world-readable.
  const dir = mkdtempSync(join(tmpdir(), 'legate-istio-mesh-'));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = createTestCa('Istio CA');
  t.teardown(() => ca.remove());
  const productpageCert = ca.issue('productpage', ['URI:spiffe://cluster.local/ns/default/sa/productpage']);
  const reviewsCert = ca.issue('reviews', ['URI:spiffe://cluster.local/ns/default/sa/reviews']);
  chmodSync(ca.dir, 0o755);
  for (const file of readdirSync(ca.dir)) chmodSync(join(ca.dir, file), 0o644);

  const servers = { a: new XdsServer({ unixPath: join(dir, 'xds-a') }), b: new XdsServer({ unixPath: join(dir, 'xds-b') }) };
  for (const server of Object.values(servers)) {
    await server.start();
    chmodSync(server.unixPath!, 0o777);
    t.teardown(() => server.stop());
  }

  // productpage's sidecar: the outbound listener for 9080 routes reviews by RDS to its EDS cluster,
  // over mutual TLS, with Istio's metadata and the upstream metadata exchange.
  servers.a.setResources(LISTENER_TYPE_URL, 'l1', [virtualOutbound(), virtualInbound([]), {
    '@type': `${TYPE}envoy.config.listener.v3.Listener`,
    name: '0.0.0.0_9080', address: address('0.0.0.0', 9080), bind_to_port: false, traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM, stat_prefix: 'outbound_0.0.0.0_9080', codec_type: 'AUTO',
      rds: { route_config_name: '9080', config_source: ads },
      http_filters: [peerMetadata('upstream'), ISTIO_STATS, ALPN, ROUTER],
    } }] }],
  }]);
  servers.a.setResources(ROUTE_TYPE_URL, 'r1', [{
    '@type': `${TYPE}envoy.config.route.v3.RouteConfiguration`, name: '9080', ignore_port_in_host_matching: true,
    virtual_hosts: [{ name: `${SERVICE}:9080`, domains: [SERVICE, 'reviews', REVIEWS_VIP], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: OUTBOUND, timeout: '0s' } }] }],
  }]);
  servers.a.setResources(CLUSTER_TYPE_URL, 'c1', [...passthroughClusters, cluster(OUTBOUND, {
    type: 'EDS', eds_cluster_config: { eds_config: ads, service_name: OUTBOUND },
    metadata: { filter_metadata: { istio: { services: [{ host: SERVICE, name: 'reviews', namespace: 'default' }] } } },
    filters: [MX_CLUSTER_FILTER],
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': `${TYPE}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`, common_tls_context: tlsContext(productpageCert, ca.certFile), sni: `outbound_.9080_._.${SERVICE}` } },
  })]);
  servers.a.setResources(ENDPOINT_TYPE_URL, 'e1', [{
    '@type': `${TYPE}envoy.config.endpoint.v3.ClusterLoadAssignment`, cluster_name: OUTBOUND,
    endpoints: [{ locality: {}, lb_endpoints: [{ endpoint: { address: address('10.240.0.3', 9080) }, metadata: { filter_metadata: { istio: { workload: 'reviews-v1;default;reviews;v1;Kubernetes' } } } }] }],
  }]);

  // reviews' sidecar: virtualInbound's chain for 9080 requires mutual TLS and runs Istio's filters.
  servers.b.setResources(LISTENER_TYPE_URL, 'l1', [virtualOutbound(), virtualInbound([{
    // Mutual TLS HTTP only: a client that did not offer Istio's HTTP ALPN would miss this chain.
    name: '0.0.0.0_9080', filter_chain_match: { destination_port: 9080, transport_protocol: 'tls', application_protocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': `${TYPE}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`, common_tls_context: tlsContext(reviewsCert, ca.certFile), require_client_certificate: true } },
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM, stat_prefix: 'inbound_0.0.0.0_9080', codec_type: 'AUTO',
      route_config: { name: 'inbound|9080||', ignore_port_in_host_matching: true, virtual_hosts: [{ name: 'inbound|http|9080', domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'inbound|9080||', timeout: '0s' } }] }] },
      http_filters: [peerMetadata('downstream'), ISTIO_STATS, ROUTER],
    } }],
  }])]);
  servers.b.setResources(CLUSTER_TYPE_URL, 'c1', [...passthroughClusters, cluster('inbound|9080||', {
    type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } },
  })]);

  const [router, a, b] = await Promise.all([createNetns(t), createNetns(t), createNetns(t)]);
  await createBridge(router, '10.240.0.1/24');
  await Promise.all([joinBridge(router, a, 'v-a', '10.240.0.2/24'), joinBridge(router, b, 'v-b', '10.240.0.3/24')]);
  await a.exec('ip', ['route', 'add', '10.241.0.0/24', 'dev', 'eth0']); // the VIP: only A's capture answers it

  const sidecar = ['--mode', 'sidecar', '--uid', '1337'];
  await Promise.all([
    startLegate(t, a, bootstrap('productpage', servers.a.unixPath!), sidecar),
    startLegate(t, b, bootstrap('reviews', servers.b.unixPath!), sidecar),
    ...[a, b].map((ns) => ns.node(CLI, ['iptables', 'apply', '--proxy-uid', '1337'])),
    a.start(PEER, ['app', 'productpage', '8080']),
    b.start(PEER, ['app', 'reviews', '9080']),
  ]);
  t.same([...allAcked(servers.a), ...allAcked(servers.b)], [], 'every istiod-shaped resource is ACKed');

  const calls = await getJson<{ status: number; instance: string; peer: string }[]>(a, `http://127.0.0.1:8080/call?url=http://${REVIEWS_VIP}:9080/reviews/1&n=3`);
  t.same(calls.map((c) => [c.status, c.instance, c.peer]), Array(3).fill([200, 'reviews', '127.0.0.6']), "productpage reaches reviews through both sidecars (reviews sees its own sidecar's inbound passthrough)");

  const labels = {
    source_workload: 'productpage-v1', source_canonical_service: 'productpage', source_workload_namespace: 'default', source_app: 'productpage',
    destination_workload: 'reviews-v1', destination_canonical_service: 'reviews', destination_workload_namespace: 'default', destination_app: 'reviews',
    request_protocol: 'http', response_code: '200',
  };
  t.match(series(await prometheus(b), 'istio_requests_total'), [{
    reporter: 'destination', ...labels, source_principal: 'spiffe://cluster.local/ns/default/sa/productpage',
    destination_principal: 'spiffe://cluster.local/ns/default/sa/reviews', connection_security_policy: 'mutual_tls', value: '3',
  }], "reviews' sidecar reports the source it learned from the exchange, and mutual TLS");
  t.match(series(await prometheus(a), 'istio_requests_total'), [{
    reporter: 'source', ...labels, destination_service: SERVICE, destination_service_name: 'reviews', value: '3',
  }], "productpage's sidecar reports the destination workload its response told it");
});
