// Istio's telemetry filters as istiod configures them (TypedStructs), between two Legate sidecars
// over mutual TLS with SPIFFE identities: productpage's outbound listener (istio.metadata_exchange
// sending and reading x-envoy-peer-metadata, istio.stats reporting as source) calls reviews'
// inbound listener (reading the peer, answering with its own, reporting as destination). Each
// sidecar's Prometheus output then carries istio_requests_total with Istio's labels.
import t from 'tap';
import { bootstrap, HCM_TYPE, ROUTER_TYPE, routes, socketAddress, staticCluster } from '../../support/bootstrap.ts';
import { fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { createTestCa, opensslMissing } from '../../support/test-ca.ts';
import { startUpstream, type Echo } from '../../support/upstream.ts';
import { certFiles, downstreamTls, upstreamTls } from '../tls/support.ts';
import { series } from '../../support/prometheus.ts';

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const skip = opensslMissing();

const typed = (typeUrl: string, value: object) => ({ '@type': TYPED_STRUCT, type_url: `type.googleapis.com/${typeUrl}`, value });
const peerMetadata = (value: object) => ({ name: 'istio.metadata_exchange', typed_config: typed('io.istio.http.peer_metadata.Config', value) });
const istioStats = { name: 'istio.stats', typed_config: typed('stats.PluginConfig', {}) };
const ISTIO_STATS_CONFIG = {
  use_all_default_tags: false,
  stats_matcher: { inclusion_list: { patterns: [{ prefix: 'istio' }, { prefix: 'server' }] } },
  histogram_bucket_settings: [{ match: { prefix: 'istio' }, buckets: [1, 5, 10, 50, 100, 500, 1000, 5000, 10000] }],
};

// pilot-agent's node metadata for a pod of a deployment.
function node(app: string, version: string) {
  const workload = `${app}-${version}`;
  return {
    id: `sidecar~127.0.0.1~${workload}-abc12.default~default.svc.cluster.local`,
    cluster: `${app}.default`,
    metadata: {
      NAME: `${workload}-abc12`, NAMESPACE: 'default', WORKLOAD_NAME: workload, CLUSTER_ID: 'Kubernetes', ISTIO_VERSION: '1.27.0',
      OWNER: `kubernetes://apis/apps/v1/namespaces/default/deployments/${workload}`,
      LABELS: { app, version, 'service.istio.io/canonical-name': app, 'service.istio.io/canonical-revision': version },
    },
  };
}

function hcm(statPrefix: string, cluster: string, filters: object[]) {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: statPrefix,
      route_config: routes([{ match: { prefix: '/' }, route: { cluster } }]),
      http_filters: [...filters, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
    },
  };
}

t.test('istio_requests_total between two sidecars', { skip }, async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const reviewsCert = ca.issue('reviews', ['URI:spiffe://cluster.local/ns/default/sa/reviews']);
  const productpageCert = ca.issue('productpage', ['URI:spiffe://cluster.local/ns/default/sa/productpage']);
  const seen: Echo['headers'][] = [];
  const app = await startUpstream('reviews', (req, res) => {
    seen.push(req.headers);
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' });
    res.end('reviews');
  });
  t.teardown(() => app.close());

  // reviews' sidecar: the inbound listener, mutual TLS required.
  const reviews = await startLegate(bootstrap(
    [{
      name: 'virtualInbound',
      address: socketAddress('127.0.0.1', 0),
      traffic_direction: 'INBOUND',
      filter_chains: [{
        transport_socket: downstreamTls({ tls_certificates: [certFiles(reviewsCert)], validation_context: { trusted_ca: { filename: ca.certFile } } }, { require_client_certificate: true }),
        filters: [hcm('inbound_0.0.0.0_9080', 'inbound|9080||', [
          peerMetadata({ downstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }], downstream_propagation: [{ istio_headers: {} }] }),
          istioStats,
        ])],
      }],
    }],
    [staticCluster('inbound|9080||', [{ port: app.port }])],
    { node: node('reviews', 'v1'), stats_config: ISTIO_STATS_CONFIG },
  ));
  t.teardown(() => reviews.stop());

  // productpage's sidecar: the outbound listener for reviews:9080, mutual TLS to reviews' sidecar.
  const outboundCluster = 'outbound|9080||reviews.default.svc.cluster.local';
  const productpage = await startLegate(bootstrap(
    [{
      name: '0.0.0.0_9080',
      address: socketAddress('127.0.0.1', 0),
      traffic_direction: 'OUTBOUND',
      filter_chains: [{ filters: [hcm('outbound_0.0.0.0_9080', outboundCluster, [
        peerMetadata({ upstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }], upstream_propagation: [{ istio_headers: {} }] }),
        istioStats,
      ])] }],
    }],
    [staticCluster(outboundCluster, [{ port: reviews.port('virtualInbound') }], {
      metadata: { filter_metadata: { istio: { services: [{ host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' }] } } },
      transport_socket: upstreamTls({ tls_certificates: [certFiles(productpageCert)], validation_context: { trusted_ca: { filename: ca.certFile } } }),
    })],
    { node: node('productpage', 'v1'), stats_config: ISTIO_STATS_CONFIG },
  ));
  t.teardown(() => productpage.stop());

  for (const path of ['/reviews/1', '/reviews/2', '/missing']) {
    const reply = await fetchText(productpage.url(path, '0.0.0.0_9080'), { headers: { host: 'reviews:9080' } });
    t.equal(reply.status, path === '/missing' ? 404 : 200, path);
    t.notOk(reply.headers['x-envoy-peer-metadata'], 'the peer headers stop at the client sidecar');
  }
  t.notOk(seen.some((h) => h['x-envoy-peer-metadata'] !== undefined || h['x-envoy-peer-metadata-id'] !== undefined), 'the app never sees the exchange headers');

  const common = {
    source_workload: 'productpage-v1', source_canonical_service: 'productpage', source_canonical_revision: 'v1',
    source_workload_namespace: 'default', source_app: 'productpage', source_version: 'v1', source_cluster: 'Kubernetes',
    destination_workload: 'reviews-v1', destination_workload_namespace: 'default', destination_app: 'reviews', destination_version: 'v1',
    destination_canonical_service: 'reviews', destination_canonical_revision: 'v1', destination_service_namespace: 'default',
    destination_cluster: 'Kubernetes', request_protocol: 'http', grpc_response_status: '',
  };

  const server = series((await fetchText(reviews.adminUrl('/stats/prometheus'))).body, 'istio_requests_total');
  t.match(server.find((s) => s.response_code === '200'), {
    reporter: 'destination', ...common,
    source_principal: 'spiffe://cluster.local/ns/default/sa/productpage',
    destination_principal: 'spiffe://cluster.local/ns/default/sa/reviews',
    destination_service: 'reviews:9080', destination_service_name: 'reviews:9080',
    response_flags: '-', connection_security_policy: 'mutual_tls', value: '2',
  }, 'the destination reports the source workload it read from the exchange, the principals from mutual TLS');
  t.match(server.find((s) => s.response_code === '404'), { reporter: 'destination', value: '1' });

  const client = series((await fetchText(productpage.adminUrl('/stats/prometheus'))).body, 'istio_requests_total');
  t.match(client.find((s) => s.response_code === '200'), {
    reporter: 'source', ...common,
    destination_service: 'reviews.default.svc.cluster.local', destination_service_name: 'reviews',
    connection_security_policy: 'unknown', value: '2',
  }, 'the source reports the destination workload the response told it, the service from the cluster');

  const prometheus = (await fetchText(reviews.adminUrl('/stats/prometheus'))).body;
  t.match(prometheus, /^# TYPE istio_request_duration_milliseconds histogram$/m, 'no envoy_ prefix');
  t.match(prometheus, /^istio_request_bytes_count\{reporter="destination",.*response_code="200".*\} 2$/m);
  t.match(prometheus, /^istio_build\{component="proxy",tag="1\.27\.0"\} 1$/m);
  t.notMatch(prometheus, /envoy_cluster_/, 'only what the inclusion list names');
  const text = (await fetchText(reviews.adminUrl('/stats?filter=istio_requests_total'))).body;
  t.match(text, /^istiocustom\.istio_requests_total\.reporter\.destination\.source_workload\.productpage-v1\./m, "/stats names them as Envoy does");
});

t.test('a bad istio filter config is refused by field', async (t) => {
  const { translateBootstrap } = await import('../../../proxy/config/index.ts');
  const withStats = (value: object) => bootstrap([{
    name: 'l', address: socketAddress('127.0.0.1', 0),
    filter_chains: [{ filters: [hcm('l', 'c', [{ name: 'istio.stats', typed_config: typed('stats.PluginConfig', value) }])] }],
  }], [staticCluster('c', [{ port: 1 }])]);
  t.throws(() => translateBootstrap(withStats({ metrics: [{ dimensions: { x: 'request.host' } }] })), /dimensions.*not supported by Legate/);
  t.throws(() => translateBootstrap(withStats({ definitions: [{ name: 'x', value: '1' }] })), /definitions.*not supported by Legate/);
  t.doesNotThrow(() => translateBootstrap(withStats({ metrics: [{ name: 'requests_total', tags_to_remove: ['source_principal'] }] })));
});

t.test('gRPC: grpc_stats with emit_filter_state feeds istio_request_messages_total', async (t) => {
  const grpc = await import('@grpc/grpc-js');
  const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
  const server = new grpc.Server();
  server.addService({ Chat: { path: '/test.Chat/Chat', requestStream: true, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize } }, {
    Chat: (call: import('@grpc/grpc-js').ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (m: Buffer) => call.write(m));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const GRPC_STATS = { name: 'envoy.filters.http.grpc_stats', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig', emit_filter_state: true, stats_for_all_methods: false } };
  const http2 = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } };
  const legate = await startLegate(bootstrap(
    [{ name: 'inbound', address: socketAddress('127.0.0.1', 0), traffic_direction: 'INBOUND', filter_chains: [{ filters: [hcm('inbound_grpc', 'chat', [istioStats, GRPC_STATS])] }] }],
    [staticCluster('chat', [{ port }], { typed_extension_protocol_options: http2 })],
    { node: node('chat', 'v1'), stats_config: ISTIO_STATS_CONFIG },
  ));
  t.teardown(() => legate.stop());
  const client = new grpc.Client(`127.0.0.1:${legate.port('inbound')}`, grpc.credentials.createInsecure());
  t.teardown(() => client.close());
  const call = client.makeBidiStreamRequest('/test.Chat/Chat', raw.serialize, raw.deserialize);
  const echoed: string[] = [];
  call.on('data', (m: Buffer) => echoed.push(m.toString()));
  const done = new Promise<void>((resolve, reject) => {
    call.on('status', (s: { code: number }) => (s.code === 0 ? resolve() : reject(new Error(`status ${s.code}`))));
  });
  for (const m of ['a', 'b', 'c']) call.write(Buffer.from(m));
  call.end();
  await done;
  t.same(echoed, ['a', 'b', 'c']);
  const prometheus = (await fetchText(legate.adminUrl('/stats/prometheus'))).body;
  t.match(series(prometheus, 'istio_request_messages_total'), [{ reporter: 'destination', request_protocol: 'grpc', grpc_response_status: '0', value: '3' }]);
  t.match(series(prometheus, 'istio_response_messages_total'), [{ reporter: 'destination', value: '3' }]);
  t.match(series(prometheus, 'istio_requests_total'), [{ request_protocol: 'grpc', response_code: '200', grpc_response_status: '0', value: '1' }]);
});
