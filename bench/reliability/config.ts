// The Envoy resources the chaos and soak runs serve, built as a mesh sidecar or ingress would have
// them: an HTTP listener with the global rate limit (the embedded service counting in Redis, limits
// far above the load), websocket upgrades, a JSON access log the runs read flags from, and routes
// that retry 5xx, resets and connect failures on another host (previous_hosts, as Istio sets).
// The same listener, routes and clusters are served over ADS or written as a static bootstrap.
import type { JsonObject } from '../../xds-client/index.ts';

const TYPE = 'type.googleapis.com/';
export const RATE_LIMIT_DOMAIN = 'chaos';
/** The request header each run tags its requests with; the access log records it. */
export const REQUEST_ID_HEADER = 'x-run-id';

/** The fields of each access log line, read back by access-log.ts. */
export const ACCESS_LOG_FIELDS = {
  id: `%REQ(${REQUEST_ID_HEADER.toUpperCase()})%`,
  code: '%RESPONSE_CODE%',
  flags: '%RESPONSE_FLAGS%',
  details: '%RESPONSE_CODE_DETAILS%',
  upstream: '%UPSTREAM_HOST%',
  attempts: '%UPSTREAM_REQUEST_ATTEMPT_COUNT%',
};

export interface RigShape {
  /** The upstream hosts' ports: cluster 'app' gets them all, 'spare' the last one. */
  hostPorts: number[];
  accessLogPath: string;
  /** Per-host load balancing weights (default 1 each). */
  weights?: number[];
  /** Hosts of 'app' by index (default all). */
  activeHosts?: number[];
  /** An extra route /extra to 'spare', for the route added and removed. */
  extraRoute?: boolean;
  /** A tag every response carries (x-config), so a run can see which config answered. */
  tag?: string;
}

const RETRY_POLICY = {
  retry_on: '5xx,reset,connect-failure,refused-stream',
  num_retries: 3,
  per_try_timeout: '5s',
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': `${TYPE}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate` } }],
  host_selection_retry_max_attempts: 5,
  retry_back_off: { base_interval: '0.01s', max_interval: '0.1s' },
};

const RATE_LIMITS = [{ actions: [{ generic_key: { descriptor_value: 'all' } }] }];

/** The limits file: one generic key, a limit no run comes near. */
export const LIMITS_YAML = `domain: ${RATE_LIMIT_DOMAIN}\ndescriptors:\n  - key: generic_key\n    value: all\n    rate_limit: { unit: second, requests_per_unit: 1000000 }\n`;

function route(prefix: string, cluster: string, extra: JsonObject = {}): JsonObject {
  return { match: { prefix }, route: { cluster, timeout: '30s', retry_policy: RETRY_POLICY, rate_limits: RATE_LIMITS, ...extra } };
}

export function routeConfiguration(shape: RigShape): JsonObject {
  const routes: JsonObject[] = [
    ...(shape.extraRoute ? [route('/extra', 'spare')] : []),
    // Websockets live long: no request timeout, no retries (an upgrade is not retried anyway).
    { match: { prefix: '/ws' }, route: { cluster: 'app', timeout: '0s', upgrade_configs: [{ upgrade_type: 'websocket' }] } },
    route('/', 'app'),
  ];
  return {
    '@type': `${TYPE}envoy.config.route.v3.RouteConfiguration`,
    name: 'routes',
    virtual_hosts: [{ name: 'all', domains: ['*'], routes, ...(shape.tag ? { response_headers_to_add: [{ header: { key: 'x-config', value: shape.tag } }] } : {}) }],
  };
}

function hcm(shape: RigShape, routeSpec: JsonObject): JsonObject {
  return {
    '@type': `${TYPE}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
    stat_prefix: 'ingress',
    ...routeSpec,
    upgrade_configs: [{ upgrade_type: 'websocket' }],
    http_filters: [
      {
        name: 'envoy.filters.http.ratelimit',
        typed_config: {
          '@type': `${TYPE}envoy.extensions.filters.http.ratelimit.v3.RateLimit`,
          domain: RATE_LIMIT_DOMAIN,
          // Envoy's default is 20 ms; a busy 2-core machine misses that now and then, which only
          // fails open, but the run's figures are clearer with the outage the only cause.
          timeout: '0.25s',
          rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: 'ratelimit' } }, transport_api_version: 'V3' },
        },
      },
      { name: 'envoy.filters.http.router', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.router.v3.Router` } },
    ],
    access_log: [
      {
        name: 'envoy.access_loggers.file',
        typed_config: {
          '@type': `${TYPE}envoy.extensions.access_loggers.file.v3.FileAccessLog`,
          path: shape.accessLogPath,
          log_format: { json_format: ACCESS_LOG_FIELDS },
        },
      },
    ],
  };
}

export function listenerResource(shape: RigShape, port: number, routesOverAds: boolean): JsonObject {
  const routeSpec: JsonObject = routesOverAds
    ? { rds: { route_config_name: 'routes', config_source: { ads: {}, resource_api_version: 'V3' } } }
    : { route_config: withoutType(routeConfiguration(shape)) };
  return {
    '@type': `${TYPE}envoy.config.listener.v3.Listener`,
    name: 'ingress',
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm(shape, routeSpec) }] }],
  };
}

function endpoints(shape: RigShape, cluster: string): JsonObject {
  const indexes = cluster === 'spare' ? [shape.hostPorts.length - 1] : (shape.activeHosts ?? shape.hostPorts.map((_, i) => i));
  return {
    '@type': `${TYPE}envoy.config.endpoint.v3.ClusterLoadAssignment`,
    cluster_name: cluster,
    endpoints: [
      {
        lb_endpoints: indexes.map((i) => ({
          endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: shape.hostPorts[i] } } },
          load_balancing_weight: shape.weights?.[i] ?? 1,
        })),
      },
    ],
  };
}

export function loadAssignments(shape: RigShape): JsonObject[] {
  return [endpoints(shape, 'app'), endpoints(shape, 'spare')];
}

// Istio's default thresholds: no circuit breaker limits. With Envoy's (max_retries 3 per cluster and
// worker), a host that refuses connections while it takes a large share of the traffic turns some
// requests into 503 UF,UO: the retries in flight overflow.
const UNLIMITED = 4294967295;
const CLUSTER_COMMON = {
  connect_timeout: '1s',
  lb_policy: 'ROUND_ROBIN',
  circuit_breakers: { thresholds: [{ max_connections: UNLIMITED, max_pending_requests: UNLIMITED, max_requests: UNLIMITED, max_retries: UNLIMITED }] },
};

export function edsClusters(): JsonObject[] {
  return ['app', 'spare'].map((name) => ({
    '@type': `${TYPE}envoy.config.cluster.v3.Cluster`,
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    ...CLUSTER_COMMON,
  }));
}

function withoutType(resource: JsonObject): JsonObject {
  const { '@type': _type, ...rest } = resource;
  return rest;
}

function node(limitsPath: string, redisUrl: string): JsonObject {
  return { id: 'chaos', cluster: 'chaos', metadata: { 'legate.ratelimit': { limits_path: limitsPath, redis_url: redisUrl } } };
}

const ADMIN = { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } };

/** Everything from the management server on xdsPort: LDS, RDS, CDS and EDS over one ADS stream. */
export function adsBootstrap(xdsPort: number, limitsPath: string, redisUrl: string): JsonObject {
  const http2 = {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': `${TYPE}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
  const source = { ads: {}, resource_api_version: 'V3' };
  return {
    node: node(limitsPath, redisUrl),
    admin: ADMIN,
    static_resources: {
      clusters: [
        {
          name: 'xds_cluster',
          type: 'STATIC',
          connect_timeout: '1s',
          typed_extension_protocol_options: http2,
          load_assignment: { cluster_name: 'xds_cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: xdsPort } } } }] }] },
        },
      ],
    },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }] },
      lds_config: source,
      cds_config: source,
    },
  };
}

/** The same listener, routes and clusters as static resources (SIGHUP re-reads them). */
export function staticBootstrap(shape: RigShape, port: number, limitsPath: string, redisUrl: string): JsonObject {
  const assignments = new Map(loadAssignments(shape).map((a) => [a.cluster_name as string, withoutType(a)]));
  return {
    node: node(limitsPath, redisUrl),
    admin: ADMIN,
    static_resources: {
      listeners: [withoutType(listenerResource(shape, port, false))],
      clusters: ['app', 'spare'].map((name) => ({ name, type: 'STATIC', ...CLUSTER_COMMON, load_assignment: assignments.get(name) ?? {} })),
    },
  };
}

/** `count` config changes from `base`: weights, endpoints out and back, a route added and removed. */
export function churnShapes(base: RigShape, count: number): RigShape[] {
  const all = base.hostPorts.map((_, i) => i);
  const variants: Partial<RigShape>[] = [
    { weights: [1, 2, 3] },
    { weights: [5, 1, 1] },
    { activeHosts: all.slice(0, -1) },
    { activeHosts: all },
    { extraRoute: true },
    { weights: [1, 1, 4], extraRoute: true },
    { extraRoute: false },
    { activeHosts: all.slice(1) },
    { activeHosts: all, weights: [2, 2, 1] },
    { weights: undefined },
  ];
  return Array.from({ length: count }, (_, i) => ({ ...base, ...variants[i % variants.length], tag: `push-${i + 1}` }));
}
