// Istio's workload discovery in config: pilot-agent's metadata_discovery bootstrap extension
// (accepted with config_source ads {}, anything else refused by name), a Workload resource as
// Istio's proxy converts it (identity from the elided defaults, app and version from the
// canonical labels), and the peer metadata filter's discovery methods kept in order.
import t from 'tap';
import { translateBootstrap, translateListener, translateWorkload } from '../../../proxy/config/index.ts';

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const extension = (value: object) => ({ name: 'metadata_discovery', typed_config: { '@type': TYPED_STRUCT, type_url: 'type.googleapis.com/istio.workload.BootstrapExtension', value } });
const ADS = {
  dynamic_resources: { ads_config: { api_type: 'DELTA_GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] } },
  static_resources: { clusters: [{ name: 'xds-grpc', type: 'STATIC', load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: './etc/istio/proxy/XDS' } } } }] }] } }] },
};

t.test('the metadata_discovery bootstrap extension', async (t) => {
  const boot = translateBootstrap({ ...ADS, bootstrap_extensions: [extension({ config_source: { ads: {} } })] });
  t.equal(boot.workloadDiscovery, true, 'accepted as pilot-agent writes it');
  t.same(boot.warnings, []);
  t.equal(translateBootstrap(ADS).workloadDiscovery, undefined, 'absent without it');
  t.throws(() => translateBootstrap({ ...ADS, bootstrap_extensions: [extension({ config_source: { path_config_source: { path: '/w.yaml' } } })] }),
    /bootstrap_extensions\[0\]\.typed_config\.config_source: not supported by Legate: workloads from a config source other than ADS/);
  t.throws(() => translateBootstrap({ ...ADS, bootstrap_extensions: [extension({ config_source: { ads: {}, initial_fetch_timeout: '5s' } })] }),
    /config_source\.initial_fetch_timeout: not supported by Legate/);
  t.throws(() => translateBootstrap({ ...ADS, bootstrap_extensions: [extension({})] }), /bootstrap_extensions\[0\]\.typed_config\.config_source: required field is missing/);
  t.throws(() => translateBootstrap({ ...ADS, bootstrap_extensions: [extension({ config_source: { ads: {} } }), extension({ config_source: { ads: {} } })] }), /given twice/);
  t.throws(() => translateBootstrap({ bootstrap_extensions: [extension({ config_source: { ads: {} } })] }), /takes workloads over ADS, but there is no ads_config/);
  t.throws(() => translateBootstrap({ ...ADS, bootstrap_extensions: [extension({ config_source: { ads: {} }, unknown_field: 1 })] }), /unknown_field/, 'fields are checked against its .proto');
});

t.test("a Workload as Istio's proxy reads it", async (t) => {
  const w = translateWorkload({
    uid: 'Kubernetes//Pod/default/sleep-1', name: 'sleep-5d7c-x1', addresses: [Buffer.from([10, 1, 2, 3]).toString('base64')],
    service_account: 'sleep', canonical_name: 'sleep', canonical_revision: 'v1', workload_name: 'sleep', workload_type: 'POD', cluster_id: 'c1',
  });
  t.same(w, {
    uid: 'Kubernetes//Pod/default/sleep-1', addresses: ['10.1.2.3'],
    metadata: {
      instance: 'sleep-5d7c-x1', cluster: 'c1', namespace: 'default', workload: 'sleep', canonicalName: 'sleep', canonicalRevision: 'v1',
      app: 'sleep', version: 'v1', workloadType: 'pod', labels: [], identity: 'spiffe://cluster.local/ns/default/sa/sleep',
    },
  }, 'the namespace and trust domain istiod elides at their defaults are put back');
  const other = translateWorkload({ uid: 'u', namespace: 'shop', trust_domain: 'example.org' });
  t.same([other.metadata.identity, other.metadata.workloadType, other.addresses], ['spiffe://example.org/ns/shop/sa/default', 'deployment', []], 'a service account elided is default; an unset type a deployment');
  t.throws(() => translateWorkload({ uid: 'u', addresses: [Buffer.from([1, 2]).toString('base64')] }, 'workloads["u"]'), /workloads\["u"\]\.addresses\[0\]: an address of 2 bytes is neither IPv4 nor IPv6/);
});

t.test('peer discovery methods are tried in their order', async (t) => {
  const listener = (config: object) => ({
    name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 1 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: 's',
      route_config: { name: 'r', virtual_hosts: [] },
      http_filters: [
        { name: 'istio.metadata_exchange', typed_config: { '@type': TYPED_STRUCT, type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value: config } },
        { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
      ],
    } }] }],
  });
  const configOf = (config: object) => {
    const { listener: l, warnings } = translateListener(listener(config));
    const chain = l.filterChains[0].network as { httpFilters: { config: unknown }[] };
    return { config: chain.httpFilters[0].config as Record<string, unknown>, warnings };
  };
  const waypoint = configOf({ downstream_discovery: [{ workload_discovery: {} }, { baggage: {} }], shared_with_upstream: true });
  t.same(waypoint.config.downstreamDiscovery, ['workload_discovery'], "a waypoint's: workload discovery");
  t.match(waypoint.warnings.join('\n'), /baggage finds nothing in Legate/);
  t.same(configOf({ upstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }] }).config.upstreamDiscovery, ['istio_headers', 'workload_discovery'], "a sidecar's: headers first");
  t.throws(() => configOf({ downstream_propagation: [{ workload_discovery: {} }] }), /propagation method 'workload_discovery' is not supported by Legate/);
});
