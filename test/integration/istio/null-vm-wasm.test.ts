// What istiod sent before Istio's filters were native (issue #18): the null-VM Wasm plugins
// envoy.wasm.metadata_exchange (HTTP, until Istio 1.20) and envoy.wasm.stats (HTTP and TCP, until
// 1.17), pushed over ADS from a real xDS server to two Legate sidecars, which run them as
// istio.metadata_exchange and istio.stats. productpage's outbound listener (1.8's EnvoyFilter
// shape: a TypedStruct, the exchange's configuration "{}", stats_outbound) calls reviews' inbound
// one (istiod's 1.9-1.19 shape: packed, the exchange's configuration an empty MetadataExchange,
// stats_inbound with 1.15's JSON): the peer metadata crosses, and each side's Prometheus output
// carries istio_requests_total with the other's labels. A TCP inbound listener with the network
// Wasm stats reports istio_tcp_*. A real VM or another plugin is NACKed by name.
import net from 'node:net';
import t from 'tap';
import { HCM_TYPE, ROUTER_TYPE, socketAddress, staticCluster, TCP_PROXY_TYPE, routes } from '../../support/bootstrap.ts';
import { fetchText, waitFor } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream, type Echo } from '../../support/upstream.ts';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL, adsBootstrap, answerTo, startManagementServer } from '../../support/xds-proxy.ts';
import { series } from '../../support/prometheus.ts';

const TYPE = 'type.googleapis.com/';
const LISTENER = `${TYPE}envoy.config.listener.v3.Listener`;
const CLUSTER = `${TYPE}envoy.config.cluster.v3.Cluster`;
const HTTP_WASM = `${TYPE}envoy.extensions.filters.http.wasm.v3.Wasm`;
const NETWORK_WASM = `${TYPE}envoy.extensions.filters.network.wasm.v3.Wasm`;
const STRING_VALUE = `${TYPE}google.protobuf.StringValue`;
const ISTIO_STATS_CONFIG = {
  use_all_default_tags: false,
  stats_matcher: { inclusion_list: { patterns: [{ prefix: 'istio' }] } },
};

const nullVm = (plugin: string, vmId?: string) => ({ runtime: 'envoy.wasm.runtime.null', code: { local: { inline_string: plugin } }, ...(vmId === undefined ? {} : { vm_id: vmId }) });
const json = (value: object) => ({ '@type': STRING_VALUE, value: JSON.stringify(value) });
// istiod 1.9-1.19: the exchange packed, its configuration an empty MetadataExchange.
const packedExchange = { name: 'istio.metadata_exchange', typed_config: { '@type': HTTP_WASM, config: { vm_config: nullVm('envoy.wasm.metadata_exchange'), configuration: { '@type': `${TYPE}envoy.tcp.metadataexchange.config.MetadataExchange` } } } };
// Istio 1.8's EnvoyFilter: a TypedStruct holding the Wasm config, the configuration "{}".
const typedStructExchange = {
  name: 'istio.metadata_exchange',
  typed_config: { '@type': `${TYPE}udpa.type.v1.TypedStruct`, type_url: HTTP_WASM, value: { config: { vm_config: nullVm('envoy.wasm.metadata_exchange'), configuration: json({}) } } },
};
const wasmStats = (root: 'stats_inbound' | 'stats_outbound', config: object) => ({
  name: 'istio.stats',
  typed_config: { '@type': HTTP_WASM, config: { root_id: root, vm_config: nullVm('envoy.wasm.stats', root), configuration: json(config) } },
});

function node(app: string) {
  const workload = `${app}-v1`;
  return {
    id: `sidecar~127.0.0.1~${workload}-abc12.default~default.svc.cluster.local`,
    cluster: `${app}.default`,
    metadata: {
      NAME: `${workload}-abc12`, NAMESPACE: 'default', WORKLOAD_NAME: workload, CLUSTER_ID: 'Kubernetes', ISTIO_VERSION: '1.15.0',
      LABELS: { app, version: 'v1', 'service.istio.io/canonical-name': app, 'service.istio.io/canonical-revision': 'v1' },
    },
  };
}

// A listener resource (as never: the xDS server's JSON type does not describe nested objects).
function hcmListener(name: string, direction: 'INBOUND' | 'OUTBOUND', cluster: string, filters: object[]): never {
  return {
    '@type': LISTENER,
    name,
    address: socketAddress('127.0.0.1', 0),
    traffic_direction: direction,
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: name,
      route_config: routes([{ match: { prefix: '/' }, route: { cluster } }]),
      http_filters: [...filters, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
    } }] }],
  } as never;
}

t.test('null-VM metadata exchange and stats between two sidecars over ADS', { timeout: 30_000 }, async (t) => {
  const seen: Echo['headers'][] = [];
  const app = await startUpstream('reviews', (req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('reviews');
  });
  t.teardown(() => app.close());

  const reviewsXds = await startManagementServer(t);
  reviewsXds.setResources(CLUSTER_TYPE_URL, 'c1', [{ '@type': CLUSTER, ...staticCluster('inbound|9080||', [{ port: app.port }]) }]);
  reviewsXds.setResources(LISTENER_TYPE_URL, 'l1', [
    hcmListener('virtualInbound', 'INBOUND', 'inbound|9080||', [
      packedExchange,
      wasmStats('stats_inbound', { debug: 'false', stat_prefix: 'istio', disable_host_header_fallback: true }),
    ]),
    {
      '@type': LISTENER,
      name: 'tcp_inbound',
      address: socketAddress('127.0.0.1', 0),
      traffic_direction: 'INBOUND',
      filter_chains: [{ filters: [
        { name: 'istio.stats', typed_config: { '@type': NETWORK_WASM, config: { root_id: 'stats_inbound', vm_config: nullVm('envoy.wasm.stats', 'tcp_stats_inbound'), configuration: json({ debug: 'false', stat_prefix: 'istio' }) } } },
        { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 'inbound|9080||', cluster: 'inbound|9080||' } },
      ] }],
    } as never,
  ]);
  const reviews = await startLegate({ ...adsBootstrap(reviewsXds.port), node: node('reviews'), stats_config: ISTIO_STATS_CONFIG });
  t.teardown(() => reviews.stop());
  t.equal((await answerTo(reviewsXds, LISTENER_TYPE_URL)).error_detail, undefined, "reviews' listeners with null-VM Wasm are ACKed");

  const outboundCluster = 'outbound|9080||reviews.default.svc.cluster.local';
  const productpageXds = await startManagementServer(t);
  productpageXds.setResources(CLUSTER_TYPE_URL, 'c1', [{
    '@type': CLUSTER,
    ...staticCluster(outboundCluster, [{ port: reviews.port('virtualInbound') }], {
      metadata: { filter_metadata: { istio: { services: [{ host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' }] } } },
    }),
  }]);
  productpageXds.setResources(LISTENER_TYPE_URL, 'l1', [hcmListener('0.0.0.0_9080', 'OUTBOUND', outboundCluster, [
    typedStructExchange,
    wasmStats('stats_outbound', { debug: 'false', stat_prefix: 'istio', metrics: [{ name: 'requests_total', dimensions: {}, tags_to_remove: ['request_protocol'] }] }),
  ])]);
  const productpage = await startLegate({ ...adsBootstrap(productpageXds.port), node: node('productpage'), stats_config: ISTIO_STATS_CONFIG });
  t.teardown(() => productpage.stop());
  t.equal((await answerTo(productpageXds, LISTENER_TYPE_URL)).error_detail, undefined, "productpage's listener with null-VM Wasm is ACKed");
  t.equal((await answerTo(productpageXds, CLUSTER_TYPE_URL)).error_detail, undefined);

  for (const path of ['/reviews/1', '/reviews/2']) {
    const reply = await fetchText(productpage.url(path, '0.0.0.0_9080'), { headers: { host: 'reviews:9080' } });
    t.equal(reply.status, 200, path);
    t.notOk(reply.headers['x-envoy-peer-metadata'], 'the exchange headers stop at the client sidecar');
  }
  t.equal(seen.length, 2);
  t.notOk(seen.some((h) => h['x-envoy-peer-metadata'] !== undefined || h['x-envoy-peer-metadata-id'] !== undefined), 'the app never sees the exchange headers (the inbound side sends none on)');

  const server = series((await fetchText(reviews.adminUrl('/stats/prometheus'))).body, 'istio_requests_total');
  t.match(server, [{
    reporter: 'destination', source_workload: 'productpage-v1', source_app: 'productpage', source_canonical_service: 'productpage',
    destination_workload: 'reviews-v1', destination_app: 'reviews', destination_service: 'reviews', request_protocol: 'http', response_code: '200', value: '2',
  }], 'stats_inbound reports as destination, with the source workload the exchange brought (the service not from Host: disable_host_header_fallback)');
  const client = series((await fetchText(productpage.adminUrl('/stats/prometheus'))).body, 'istio_requests_total');
  t.match(client, [{
    reporter: 'source', source_workload: 'productpage-v1', destination_workload: 'reviews-v1', destination_app: 'reviews',
    destination_canonical_service: 'reviews', destination_service: 'reviews.default.svc.cluster.local', destination_service_name: 'reviews', response_code: '200', value: '2',
  }], 'stats_outbound reports as source, with the destination workload the response told it');
  t.notOk('request_protocol' in client[0], 'the metric override removed request_protocol');

  // The network Wasm stats plugin on a TCP chain.
  const socket = net.connect(reviews.port('tcp_inbound'), '127.0.0.1');
  t.teardown(() => socket.destroy());
  const answer = await new Promise<string>((resolve, reject) => {
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write('GET /tcp HTTP/1.1\r\nhost: reviews\r\nconnection: close\r\n\r\n');
  });
  t.match(answer, /^HTTP\/1\.1 200/, 'the TCP chain relays');
  const tcp = await waitFor('istio_tcp_connections_closed_total', async () => {
    const found = series((await fetchText(reviews.adminUrl('/stats/prometheus'))).body, 'istio_tcp_connections_closed_total');
    return found.length > 0 ? found : undefined;
  }, 5000);
  t.match(tcp, [{ reporter: 'destination', destination_workload: 'reviews-v1', request_protocol: 'tcp', value: '1' }], 'the network plugin reports istio_tcp_* as destination');
});

t.test('a real Wasm VM or another null-VM plugin is NACKed by name', async (t) => {
  const xds = await startManagementServer(t);
  xds.setResources(CLUSTER_TYPE_URL, 'c1', [{ '@type': CLUSTER, ...staticCluster('c', [{ port: 1 }]) }]);
  xds.setResources(LISTENER_TYPE_URL, 'l1', []);
  const legate = await startLegate(adsBootstrap(xds.port));
  t.teardown(() => legate.stop());
  const push = async (version: string, filter: object) => {
    xds.setResources(LISTENER_TYPE_URL, version, [hcmListener('l', 'OUTBOUND', 'c', [filter])]);
    return ((await answerTo(xds, LISTENER_TYPE_URL)).error_detail as { message?: string } | undefined)?.message ?? '';
  };
  const v8 = { name: 'my-plugin', typed_config: { '@type': HTTP_WASM, config: { vm_config: { runtime: 'envoy.wasm.runtime.v8', code: { local: { filename: '/etc/istio/extensions/stats-filter.compiled.wasm' } } } } } };
  t.match(await push('l2', v8), /vm_config\.runtime: not supported by Legate: Wasm runtime 'envoy\.wasm\.runtime\.v8' \(plugin \(none\)\); Legate runs no Wasm VM/, 'v8 is refused, naming the runtime');
  const stackdriver = { name: 'istio.stackdriver', typed_config: { '@type': HTTP_WASM, config: { root_id: 'stackdriver_outbound', vm_config: nullVm('envoy.wasm.null.stackdriver'), configuration: json({}) } } };
  t.match(await push('l3', stackdriver), /code\.local\.inline_string: not supported by Legate: null-VM Wasm plugin 'envoy\.wasm\.null\.stackdriver'/, 'another null-VM plugin is refused by name');
  t.match(await push('l4', wasmStats('stats_inbound', { stat_prefix: 'istio', field_separator: '|' })), /field_separator: not supported by Legate/, 'a stats separator other than the default is refused');
  t.match(await push('l5', wasmStats('stats_inbound', { metrics: [{ name: 'requests_total', dimensions: { x: 'request.host' } }] })), /dimensions.*not supported by Legate/, 'CEL dimensions are refused as in the native form');
  t.equal(await push('l6', packedExchange), '', 'and the null-VM exchange is ACKed');
});
