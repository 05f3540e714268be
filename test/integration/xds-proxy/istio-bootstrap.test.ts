// A bootstrap of the shape pilot-agent writes for an Istio sidecar, run as it is: node metadata,
// the internal_listener bootstrap extension, Istio's stats tags and inclusion list (ignored with
// warnings), delta ADS to the xds-grpc cluster on a Unix socket, sds-grpc on another, the
// Prometheus listener (15090 in Istio) with its three compressors routing /stats/prometheus to
// the admin through the prometheus_stats cluster, and the health listener
// (15021) routing /healthz/ready to pilot-agent's status port (the agent cluster). Ports are the
// test's own; the control plane is a real gRPC xDS server on the socket.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fetchText, nodeRequest } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';
import { edsCluster, rdsListener, routeConfig } from '../../support/xds/fixtures.ts';
import { XdsServer } from '../../support/xds-server.ts';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, loadAssignment, ROUTE_TYPE_URL } from '../../support/xds-proxy.ts';

const TYPE = 'type.googleapis.com/';
const HCM = `${TYPE}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const ROUTER = [{ name: 'envoy.filters.http.router', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.router.v3.Router` } }];
const HTTP2 = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': `${TYPE}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
    explicit_http_config: { http2_protocol_options: {} },
  },
};

function address(port: number) {
  return { socket_address: { protocol: 'TCP', address: '127.0.0.1', port_value: port } };
}

function staticCluster(name: string, endpointAddress: object, extra: object = {}) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: endpointAddress } }] }] },
    ...extra,
  };
}

// The compressors pilot-agent puts before the router of the Prometheus listener.
const STATS_COMPRESSORS = [['brotli', 'Brotli'], ['zstd', 'Zstd'], ['gzip', 'Gzip']].map(([library, type]) => ({
  name: `envoy.filters.http.compressor.${library}`,
  typed_config: {
    '@type': `${TYPE}envoy.extensions.filters.http.compressor.v3.Compressor`,
    compressor_library: { name: `stats_${library}`, typed_config: { '@type': `${TYPE}envoy.extensions.compression.${library}.compressor.v3.${type}` } },
    response_direction_config: { common_config: { content_type: ['text/plain', 'application/vnd.google.protobuf', 'application/openmetrics-text', 'application/openmetrics-protobuf'] } },
  },
}));

function prefixListener(name: string, statPrefix: string, prefix: string, cluster: string, filters: object[] = []) {
  return {
    name,
    address: address(0),
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM,
      codec_type: 'AUTO',
      stat_prefix: statPrefix,
      route_config: { virtual_hosts: [{ name: 'backend', domains: ['*'], routes: [{ match: { prefix }, route: { cluster } }] }] },
      http_filters: [...filters, ...ROUTER],
    } }] }],
  };
}

// A free loopback port for the admin, which the prometheus_stats cluster must name up front.
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test("a sidecar bootstrap of pilot-agent's shape reaches its control plane over a Unix socket", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'legate-istio-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const app = await startUpstream('app');
  t.teardown(() => app.close());
  // pilot-agent's status port, which answers /healthz/ready.
  const agent = http.createServer((req, res) => {
    res.writeHead(req.url === '/healthz/ready' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end('agent');
  });
  await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => agent.close(() => resolve())));
  const agentPort = (agent.address() as net.AddressInfo).port;

  const xds = new XdsServer({ unixPath: join(dir, 'XDS') });
  await xds.start();
  t.teardown(() => xds.stop());
  xds.setResources(CLUSTER_TYPE_URL, 'c1', [edsCluster('outbound|80||app.default.svc.cluster.local')]);
  xds.setResources(ENDPOINT_TYPE_URL, 'e1', [{ ...loadAssignment('outbound|80||app.default.svc.cluster.local', [app.port]) }]);
  xds.setResources(LISTENER_TYPE_URL, 'l1', [rdsListener('virtualOutbound', '80')]);
  xds.setResources(ROUTE_TYPE_URL, 'r1', [routeConfig('80', 'outbound|80||app.default.svc.cluster.local')]);

  const adminPort = await freePort();
  const ads = { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' };
  const logs: string[] = [];
  const legate = await startLegate({
    node: {
      id: 'sidecar~127.0.0.1~app-6d8f7-abcde.default~default.svc.cluster.local',
      cluster: 'app.default',
      locality: {},
      metadata: { ISTIO_VERSION: '1.27.0', CLUSTER_ID: 'Kubernetes', NAMESPACE: 'default', LABELS: { app: 'app', version: 'v1' } },
    },
    layered_runtime: { layers: [{ name: 'global config', static_layer: { 're2.max_program_size.error_level': '32768' } }, { name: 'admin', admin_layer: {} }] },
    bootstrap_extensions: [{
      name: 'envoy.bootstrap.internal_listener',
      typed_config: { '@type': `${TYPE}udpa.type.v1.TypedStruct`, type_url: `${TYPE}envoy.extensions.bootstrap.internal_listener.v3.InternalListener`, value: { buffer_size_kb: 64 } },
    }],
    stats_config: {
      use_all_default_tags: false,
      stats_tags: [{ tag_name: 'cluster_name', regex: '^cluster\\.((.+?(\\..+?\\.svc\\.cluster\\.local)?)\\.)' }, { tag_name: 'response_code', regex: '_rq(_(\\d{3}))$' }],
      stats_matcher: { inclusion_list: { patterns: [{ prefix: 'reporter=' }, { prefix: 'cluster_manager' }, { prefix: 'listener_manager' }, { prefix: 'server' }, { prefix: 'cluster.xds-grpc' }, { suffix: 'upstream_rq_2xx' }] } },
      histogram_bucket_settings: [{ match: { prefix: 'cluster' }, buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] }],
    },
    admin: { address: address(adminPort) },
    dynamic_resources: {
      lds_config: ads,
      cds_config: ads,
      ads_config: { api_type: 'DELTA_GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: {
      clusters: [
        staticCluster('prometheus_stats', address(adminPort)),
        staticCluster('agent', address(agentPort)),
        staticCluster('sds-grpc', { pipe: { path: join(dir, 'workload-spiffe-uds-socket') } }, { typed_extension_protocol_options: HTTP2 }),
        staticCluster('xds-grpc', { pipe: { path: join(dir, 'XDS') } }, {
          typed_extension_protocol_options: HTTP2,
          circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: 100000, max_pending_requests: 100000, max_requests: 100000 }, { priority: 'HIGH', max_connections: 100000, max_pending_requests: 100000, max_requests: 100000 }] },
          upstream_connection_options: { tcp_keepalive: { keepalive_time: 300 } },
          max_requests_per_connection: 1,
        }),
      ],
      listeners: [
        prefixListener('0.0.0.0_15090', 'stats', '/stats/prometheus', 'prometheus_stats', STATS_COMPRESSORS),
        prefixListener('0.0.0.0_15021', 'agent', '/healthz/ready', 'agent'),
      ],
    },
  }, { log: (line) => logs.push(line) });
  t.teardown(() => legate.stop());

  const first = xds.requests[0];
  t.equal((first?.request.node as { id?: string } | undefined)?.id, 'sidecar~127.0.0.1~app-6d8f7-abcde.default~default.svc.cluster.local', 'the node reached the control plane over the socket');
  t.ok(first?.delta, 'delta xDS, as pilot-agent asks');

  const routed = await nodeRequest(legate.url('/', 'virtualOutbound'));
  t.equal(routed.status, 200, 'a listener, route and cluster from the control plane serve');

  const prometheus = await fetchText(legate.url('/stats/prometheus', '0.0.0.0_15090'));
  t.equal(prometheus.status, 200);
  // stats_config as Istio writes it: only the included stats, tagged by Istio's regexes alone.
  t.match(prometheus.body, /^envoy_cluster_upstream_rq_2xx\{cluster_name="outbound\|80\|\|app\.default\.svc\.cluster\.local"\} 1$/m, 'the Prometheus listener serves the admin\'s metrics, tagged by stats_tags');
  t.match(prometheus.body, /^envoy_server_live\{\} 1$/m, 'an included prefix');
  t.notMatch(prometheus.body, /upstream_rq_total\{cluster_name="outbound/, 'what the inclusion list leaves out is not there');
  t.notMatch(prometheus.body, /envoy_response_code|envoy_cluster_name/, 'no default tags (use_all_default_tags: false)');
  const text = await fetchText(legate.adminUrl('/stats'));
  t.notMatch(text.body, /outbound\|80\|\|app\.default\.svc\.cluster\.local\.upstream_rq_total/, 'nor in /stats');
  t.match(text.body, /cluster\.xds-grpc\.upstream_rq_total/, 'an included prefix is');
  const compressed = await nodeRequest(legate.url('/stats/prometheus', '0.0.0.0_15090'), { headers: { 'accept-encoding': 'gzip' } });
  t.equal(compressed.headers['content-encoding'], 'gzip', 'Prometheus scrapes asking for gzip get it (the compressor filters)');
  const ready = await fetchText(legate.url('/healthz/ready', '0.0.0.0_15021'));
  t.equal(ready.status, 200, 'the health listener reaches pilot-agent');
  t.equal(ready.body, 'agent');
});
