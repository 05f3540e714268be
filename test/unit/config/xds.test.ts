// xDS resources (JSON and the objects @grpc/proto-loader decodes) -> model, and the
// cross-resource checks a snapshot gets.
import t from 'tap';
import {
  ConfigError,
  translateCluster,
  translateClusterLoadAssignment,
  translateListener,
  translateRouteConfiguration,
  validateSnapshot,
} from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, RouteAction } from '../../../proxy/config/model.ts';
import { envoyProtoRoot } from '../../../proxy/config/protos.ts';

const HCM_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

function error(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const rdsListener = {
  '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
  name: 'http_8080',
  address: { socketAddress: { address: '0.0.0.0', portValue: 8080 } },
  filterChains: [{
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typedConfig: {
        '@type': HCM_URL,
        statPrefix: 'http',
        rds: { routeConfigName: 'routes-8080', configSource: { ads: {}, resourceApiVersion: 'V3' } },
        httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': ROUTER_URL } }],
      },
    }],
  }],
};

t.test('a JSON listener with RDS', async (t) => {
  const { listener, routeConfigs, warnings } = translateListener(rdsListener);
  t.equal(listener.name, 'http_8080');
  const hcm = listener.filterChains[0].network as HttpConnectionManager;
  t.equal(hcm.rds, true);
  t.equal(hcm.routeConfigName, 'routes-8080');
  t.same(hcm.rdsConfigSource, { kind: 'ads' });
  t.same(routeConfigs, []);
  t.same(warnings, []);
});

t.test('a listener as proto-loader decodes it (binary Any, oneof names, long strings)', async (t) => {
  const root = envoyProtoRoot();
  const Listener = root.lookupType('envoy.config.listener.v3.Listener');
  const Hcm = root.lookupType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  const Router = root.lookupType('envoy.extensions.filters.http.router.v3.Router');
  const hcm = Hcm.fromObject({
    stat_prefix: 'bin',
    stream_idle_timeout: { seconds: 10 },
    route_config: {
      name: 'inline',
      virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', timeout: { seconds: 3 } } }] }],
    },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { type_url: ROUTER_URL, value: Router.encode(Router.create()).finish() } }],
  });
  const message = Listener.fromObject({
    name: 'bin',
    address: { socket_address: { address: '127.0.0.1', port_value: 9000 } },
    filter_chains: [{ filters: [{ name: 'hcm', typed_config: { type_url: HCM_URL, value: Hcm.encode(hcm).finish() } }] }],
  });
  const decoded = Listener.toObject(Listener.decode(Listener.encode(message).finish()), { longs: String, enums: String, oneofs: true });
  const { listener, routeConfigs } = translateListener(decoded, 'resources[0]');
  const network = listener.filterChains[0].network as HttpConnectionManager;
  t.equal(network.statPrefix, 'bin');
  t.equal(network.streamIdleTimeoutMs, 10_000);
  t.equal(network.routeConfigName, 'inline:bin:0');
  t.equal(routeConfigs.length, 1);
  t.equal((routeConfigs[0].virtualHosts[0].routes[0].action as RouteAction).timeoutMs, 3000);
});

t.test('route configuration, cluster and endpoints', async (t) => {
  const { routeConfig } = translateRouteConfiguration({
    name: 'routes-8080',
    virtual_hosts: [{
      name: 'api',
      domains: ['API.example.com', 'api.example.com:8080'],
      include_request_attempt_count: true,
      rate_limits: [{ actions: [{ remote_address: {} }, { generic_key: { descriptor_value: 'api' } }] }],
      routes: [
        { match: { safe_regex: { regex: '/v[0-9]+/.*' }, query_parameters: [{ name: 'debug' }] }, route: { cluster: 'api', regex_rewrite: { pattern: { regex: '^/v[0-9]+' }, substitution: '' } } },
        { match: { prefix: '/', headers: [{ name: 'X-Env', exact_match: 'dev' }] }, route: { cluster_header: 'x-cluster', upgrade_configs: [{ upgrade_type: 'WebSocket' }] } },
      ],
    }],
  });
  const vh = routeConfig.virtualHosts[0];
  t.same(vh.domains, ['api.example.com', 'api.example.com:8080']);
  t.same(vh.rateLimits, [{ actions: [{ kind: 'remote_address' }, { kind: 'generic_key', descriptorKey: 'generic_key', descriptorValue: 'api' }] }]);
  const [first, second] = vh.routes;
  t.same(first.match.path, { kind: 'safe_regex', value: '/v[0-9]+/.*' });
  t.same(first.match.queryParameters, [{ name: 'debug', presentMatch: true }]);
  t.same((first.action as RouteAction).regexRewrite, { pattern: '^/v[0-9]+', substitution: '' });
  t.equal((first.action as RouteAction).includeAttemptCount, true);
  t.match(second.match.headers, [{ name: 'x-env', kind: 'exact', value: 'dev' }]);
  t.same((second.action as RouteAction).cluster, { kind: 'cluster_header', header: 'x-cluster' });
  t.same((second.action as RouteAction).upgradeConfigs, [{ upgradeType: 'websocket', enabled: true }]);

  const { cluster } = translateCluster({
    '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    name: 'outbound|8080||api',
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {} }, service_name: 'api-eds' },
    lb_policy: 'RING_HASH',
    ring_hash_lb_config: { minimum_ring_size: 4096 },
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    outlier_detection: { consecutive_5xx: 2, base_ejection_time: '60s' },
  });
  t.match(cluster, {
    type: 'EDS',
    edsServiceName: 'api-eds',
    edsConfigSource: { kind: 'ads' },
    lbPolicy: 'RING_HASH',
    ringHash: { minimumRingSize: 4096, maximumRingSize: 8388608 },
    healthyPanicThresholdPercent: 0,
    outlierDetection: { consecutive5xx: 2, baseEjectionTimeMs: 60000, maxEjectionTimeMs: 300000 },
    loadAssignment: { clusterName: 'outbound|8080||api', endpoints: [] },
  });

  const { loadAssignment } = translateClusterLoadAssignment({
    cluster_name: 'api-eds',
    endpoints: [
      { locality: { zone: 'a' }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, health_status: 'HEALTHY' }] },
      { priority: 1, load_balancing_weight: 2, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 80 } }, health_check_config: { port_value: 81 } } }] },
    ],
    policy: { overprovisioning_factor: 200 },
  });
  t.same(loadAssignment, {
    clusterName: 'api-eds',
    overprovisioningFactor: 200,
    endpoints: [
      { locality: { region: '', zone: 'a', subZone: '' }, priority: 0, loadBalancingWeight: 0, lbEndpoints: [{ address: { address: '10.0.0.1', port: 80 }, hostname: '', healthStatus: 'HEALTHY', loadBalancingWeight: 1, healthCheckPort: 0 }] },
      { locality: { region: '', zone: '', subZone: '' }, priority: 1, loadBalancingWeight: 2, lbEndpoints: [{ address: { address: '10.0.0.2', port: 80 }, hostname: '', healthStatus: 'UNKNOWN', loadBalancingWeight: 1, healthCheckPort: 81 }] },
    ],
  });
});

t.test('xDS errors name the field from the resource root', async (t) => {
  t.equal(error(() => translateRouteConfiguration({ virtual_hosts: [] })).message, 'name: required field is missing (RDS route configurations need a name)');
  t.equal(
    error(() => translateRouteConfiguration({ name: 'r', virtual_hosts: [{ name: 'a', domains: ['x.com'] }, { name: 'b', domains: ['X.com'] }] }, 'resources[3]')).message,
    "resources[3].virtual_hosts[1].domains[0]: domain 'x.com' is already used by virtual host 'a' (each domain may appear in one virtual host only)",
  );
  t.equal(
    error(() => translateCluster({ name: 'o', type: 'ORIGINAL_DST' })).message,
    'lb_policy: lb_policy ROUND_ROBIN is not valid for an ORIGINAL_DST cluster (use lb_policy: CLUSTER_PROVIDED)',
  );
  t.equal(error(() => translateClusterLoadAssignment({ endpoints: [] })).message, 'cluster_name: required field is missing (set cluster_name (string))');
  t.equal(error(() => translateListener(42)).message, 'expected an object (envoy.config.listener.v3.Listener), got the number 42 (fix the value\'s type)');
});

t.test('validateSnapshot: duplicates, dangling references', async (t) => {
  const { listener } = translateListener(rdsListener);
  const { cluster } = translateCluster({ name: 'api', type: 'STATIC' });
  const { routeConfig } = translateRouteConfiguration({
    name: 'routes-8080',
    virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'web' } }] }],
  });
  const parts = { listeners: [listener], clusters: [cluster], routeConfigs: { 'routes-8080': routeConfig } };
  validateSnapshot(parts); // references are not checked by default: CDS may still be on its way
  t.equal(
    error(() => validateSnapshot(parts, { checkClusterRefs: true })).message,
    "virtual_hosts[0].routes[0].route.cluster: unknown cluster 'web' (the route sends requests to it; define it in static_resources.clusters or fix the name (defined: api))",
  );
  t.equal(
    error(() => validateSnapshot({ ...parts, clusters: [cluster, cluster] })).message,
    "name: duplicate cluster name 'api' (cluster names must be unique)",
  );
  t.equal(
    error(() => validateSnapshot({ ...parts, routeConfigs: {} }, { checkRdsRefs: true })).message,
    "filter_chains[0].filters[0].typed_config.rds.route_config_name: unknown route configuration 'routes-8080' (provide it through RDS or inline it as route_config)",
  );
  const other = translateListener({ ...rdsListener, name: 'again' }).listener;
  t.match(error(() => validateSnapshot({ ...parts, listeners: [listener, other] })).message, /address: listener 'again' uses address 0\.0\.0\.0:8080, already used by listener 'http_8080'/);
});
