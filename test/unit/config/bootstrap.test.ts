// loadBootstrap on realistic configs: the model it builds and Envoy's defaults.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { loadBootstrap } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, RouteAction, TcpProxy } from '../../../proxy/config/model.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/config/${name}`, import.meta.url));

t.test('ingress: listener, HCM, inline routes, filters, clusters', async (t) => {
  const boot = loadBootstrap(fixture('ingress.yaml'));
  t.same(boot.node, {
    id: 'router-0',
    cluster: 'ingress-router',
    metadata: { 'legate.ratelimit': { limits_path: '/etc/legate/ratelimit.yaml', redis_url: 'redis://127.0.0.1:6379' } },
  });
  t.same(boot.admin, { address: { address: '127.0.0.1', port: 9901 } });
  t.same(boot.rateLimitService, { limitsPath: '/etc/legate/ratelimit.yaml', redisUrl: 'redis://127.0.0.1:6379' });
  t.same(boot.dynamicResources, { initialFetchTimeoutMs: 15000 });

  t.equal(boot.listeners.length, 1);
  const listener = boot.listeners[0];
  t.equal(listener.name, 'ingress_http');
  t.same(listener.address, { address: '0.0.0.0', port: 10000 });
  t.equal(listener.bindToPort, true);
  t.equal(listener.perConnectionBufferLimitBytes, 1024 * 1024);
  const hcm = listener.filterChains[0].network as HttpConnectionManager;
  t.equal(hcm.kind, 'http_connection_manager');
  t.equal(hcm.useRemoteAddress, true);
  t.equal(hcm.idleTimeoutMs, 300_000, 'common_http_protocol_options.idle_timeout');
  t.equal(hcm.streamIdleTimeoutMs, 300_000);
  t.equal(hcm.rds, false);
  t.same(hcm.httpFilters.map((f) => f.name), [
    'envoy.filters.http.fault',
    'envoy.filters.http.local_ratelimit',
    'envoy.filters.http.ratelimit',
    'envoy.filters.http.router',
  ], 'the optional unknown buffer filter is skipped');
  t.ok(boot.warnings.some((w) => w.includes("optional filter 'envoy.filters.http.buffer'") && w.includes('skipped')));
  t.same(boot.runtimeLayers, [{ name: 'static_layer_0', kind: 'static', values: {} }], 'layered_runtime is read');
  t.match(hcm.httpFilters[0].config, { headers: [], downstreamNodes: [], delay: { headerDelay: true, percent: 100, denominator: 100 }, runtime: { delayPercent: 'fault.http.delay.fixed_delay_percent' } });
  t.match(hcm.httpFilters[1].config, {
    status: 429,
    filterEnabledPercent: 100,
    filterEnforcedPercent: 100,
    tokenBucket: { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 1000 },
    responseHeadersToAdd: [{ key: 'x-local-rate-limit', value: 'true', appendAction: 'APPEND_IF_EXISTS_OR_ADD' }],
  });
  t.match(hcm.httpFilters[2].config, {
    domain: 'ingress',
    failureModeDeny: true,
    timeoutMs: 50,
    requestType: 'both',
    grpcService: { clusterName: 'ratelimit' },
    statusOnError: 500,
  });
  t.same(hcm.accessLog, [{
    name: 'envoy.access_loggers.file',
    sink: { kind: 'file', path: '/dev/stdout' },
    format: { kind: 'text', template: '%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\n' },
    filter: { kind: 'status_code', op: 'GE', value: 400 },
  }]);

  // The inline route config is stored under the synthetic name the HCM points to.
  t.equal(hcm.routeConfigName, 'inline:ingress_http:0');
  t.same(Object.keys(boot.routeConfigs), ['inline:ingress_http:0']);
  const routes = boot.routeConfigs[hcm.routeConfigName];
  t.same(routes.mutations.requestHeadersToAdd, [{ key: 'x-router', value: 'legate', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }], 'legacy append: false');
  const [redirectHost, apps] = routes.virtualHosts;
  t.same(redirectHost.routes[0].action, { kind: 'redirect', responseCode: 308, stripQuery: false, schemeRedirect: 'https' });
  t.same(apps.routes[0].action, { kind: 'direct_response', status: 200, body: 'ok\n' });
  t.same(apps.routes[0].match.path, { kind: 'path', value: '/healthz' });

  const api = apps.routes[1].action as RouteAction;
  t.same(api.cluster, { kind: 'cluster', name: 'app_v2' });
  t.equal(api.timeoutMs, 2500);
  t.equal(api.prefixRewrite, '/');
  t.same(api.retryPolicy?.retryOn, ['connect-failure'], 'the route keeps its own retry policy');
  t.equal(api.retryPolicy?.numRetries, 1, 'num_retries defaults to 1');
  t.same(api.retryPolicy?.backOff, { baseIntervalMs: 100, maxIntervalMs: 1000 }, 'max back-off is 10x base');
  t.equal(api.retryPolicy?.perTryTimeoutMs, 1000);
  t.same(api.hashPolicy, [{ kind: 'header', headerName: 'x-user', terminal: false }]);
  t.match(apps.routes[1].match.headers, [{ name: 'x-canary', kind: 'exact', value: 'true' }]);
  t.match(apps.routes[1].typedPerFilterConfig, { 'envoy.filters.http.fault': { abort: { httpStatus: 503, percent: 5, headerAbort: false } } });

  const split = apps.routes[2].action as RouteAction;
  t.match(split.cluster, { kind: 'weighted_clusters', totalWeight: 100, clusters: [{ name: 'app_v1', weight: 90 }, { name: 'app_v2', weight: 10 }] });
  if (split.cluster.kind === 'weighted_clusters') {
    t.same(split.cluster.clusters[1].mutations.requestHeadersToAdd, [{ key: 'x-version', value: 'v2', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }]);
  }
  t.equal(split.timeoutMs, 15_000, 'route timeout defaults to 15 s');
  t.same(split.retryPolicy?.retryOn, ['5xx', 'reset'], 'inherits the virtual host retry policy');
  t.equal(split.retryPolicy?.numRetries, 2);
  t.same(split.retryPolicy?.backOff, { baseIntervalMs: 25, maxIntervalMs: 250 });
  t.same(split.requestMirrorPolicies, [{ cluster: 'app_v2', runtimeFractionPercent: 1 }]);

  const [v1, v2] = boot.clusters;
  t.equal(v1.name, 'app_v1');
  t.equal(v1.type, 'STRICT_DNS');
  t.equal(v1.lbPolicy, 'LEAST_REQUEST');
  t.equal(v1.connectTimeoutMs, 250);
  t.same(v1.loadAssignment.endpoints[0].lbEndpoints.map((e) => [e.address.address, e.address.port, e.loadBalancingWeight]), [
    ['app-v1.internal', 8080, 1],
    ['app-v1b.internal', 8080, 3],
  ]);
  t.match(v1.healthChecks, [{ timeoutMs: 1000, intervalMs: 5000, unhealthyThreshold: 3, healthyThreshold: 2, noTrafficIntervalMs: 60000, check: { kind: 'http', path: '/healthz', expectedStatuses: [{ start: 200, end: 201 }] } }]);
  t.match(v1.outlierDetection, { consecutive5xx: 3, intervalMs: 10000, baseEjectionTimeMs: 30000, maxEjectionPercent: 10, enforcingConsecutive5xx: 100 });
  t.equal(v1.upstreamProtocol, 'HTTP1');
  t.equal(v2.upstreamProtocol, 'HTTP2', 'typed_extension_protocol_options explicit http2');
  t.equal(v2.connectTimeoutMs, 5000, 'connect_timeout defaults to 5 s');
  t.match(v2.circuitBreakers[0], { priority: 'DEFAULT', maxConnections: 100, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 5 });
});

t.test('defaults of a minimal config', async (t) => {
  const dir = t.testdir({
    'minimal.yaml': `
static_resources:
  listeners:
  - address: { socket_address: { address: 127.0.0.1, port_value: 8000 } }
    filter_chains:
    - filters:
      - name: hcm
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: x
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: c }
          http_filters:
          - name: envoy.filters.http.router
  clusters:
  - name: c
    load_assignment:
      cluster_name: c
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9000 } } } }] }]
`,
  });
  const boot = loadBootstrap(`${dir}/minimal.yaml`);
  const listener = boot.listeners[0];
  t.equal(listener.name, '127.0.0.1_8000', 'an unnamed listener is named after its address');
  t.equal(listener.trafficDirection, 'UNSPECIFIED');
  const hcm = listener.filterChains[0].network as HttpConnectionManager;
  t.match(hcm, {
    codecType: 'AUTO',
    generateRequestId: true,
    serverName: 'envoy',
    serverHeaderTransformation: 'OVERWRITE',
    idleTimeoutMs: 3_600_000,
    drainTimeoutMs: 5000,
    maxRequestHeadersKb: 60,
    requestTimeoutMs: 0,
  });
  t.same(hcm.httpFilters, [{ name: 'envoy.filters.http.router', type: 'envoy.extensions.filters.http.router.v3.Router', config: { suppressEnvoyHeaders: false, respectExpectedRqTimeout: false } }], 'router by name only');
  const action = boot.routeConfigs[hcm.routeConfigName].virtualHosts[0].routes[0].action as RouteAction;
  t.equal(action.timeoutMs, 15_000);
  t.equal(action.retryPolicy, undefined, 'no retries without a retry policy');
  const cluster = boot.clusters[0];
  t.match(cluster, {
    type: 'STATIC',
    lbPolicy: 'ROUND_ROBIN',
    connectTimeoutMs: 5000,
    dnsRefreshRateMs: 5000,
    healthyPanicThresholdPercent: 50,
    maglevTableSize: 65537,
    ringHash: { minimumRingSize: 1024, maximumRingSize: 8388608 },
    leastRequestChoiceCount: 2,
    upstreamIdleTimeoutMs: 3_600_000,
    perConnectionBufferLimitBytes: 1048576,
    loadAssignment: { overprovisioningFactor: 140 },
  });
  t.same(cluster.circuitBreakers[0], { priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, trackRemaining: false });
  t.equal(cluster.outlierDetection, undefined);
  t.same(boot.warnings, []);
});

t.test('sidecar: original_dst, filter chain match, tcp_proxy, default chain', async (t) => {
  const boot = loadBootstrap(fixture('sidecar.yaml'));
  const listener = boot.listeners[0];
  t.equal(listener.useOriginalDst, true);
  t.equal(listener.trafficDirection, 'OUTBOUND');
  t.same(listener.listenerFilters, [
    { name: 'envoy.filters.listener.original_dst', type: 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst' },
    { name: 'envoy.filters.listener.tls_inspector', type: 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
  ]);
  const [postgres, tls] = listener.filterChains;
  t.match(postgres.match, { destinationPort: 5432, prefixRanges: [{ addressPrefix: '10.0.0.0', prefixLen: 8 }], sourceType: 'ANY' });
  t.same(postgres.network, { kind: 'tcp_proxy', statPrefix: 'postgres', cluster: { kind: 'cluster', name: 'original_dst' }, idleTimeoutMs: 3_600_000, maxConnectAttempts: 1, accessLog: [], bufferLimitBytes: 1_048_576 });
  t.match(tls.match, { transportProtocol: 'tls', serverNames: ['*.example.com'] });
  t.match((tls.network as TcpProxy).cluster, { kind: 'weighted_clusters', totalWeight: 1 });
  const fallback = listener.defaultFilterChain?.network as HttpConnectionManager;
  t.equal(fallback.routeConfigName, 'inline:virtual_outbound:default');
  const action = boot.routeConfigs[fallback.routeConfigName].virtualHosts[0].routes[0].action as RouteAction;
  t.equal(action.timeoutMs, 0, 'timeout 0s disables the route timeout');
  t.match(boot.clusters[0], { name: 'original_dst', type: 'ORIGINAL_DST', lbPolicy: 'CLUSTER_PROVIDED', connectTimeoutMs: 1000 });
});

t.test('ADS: dynamic resources and the management cluster', async (t) => {
  const boot = loadBootstrap(fixture('ads.yaml'));
  t.same(boot.dynamicResources, {
    initialFetchTimeoutMs: 15000,
    ads: {
      apiType: 'GRPC',
      grpcService: { clusterName: 'xds_cluster', timeoutMs: 0, initialMetadata: [] },
      setNodeOnFirstMessageOnly: false,
      requestTimeoutMs: 0,
    },
    lds: { kind: 'ads' },
    cds: { kind: 'ads' },
  });
  t.same(boot.node.locality, { region: '', zone: 'z1', subZone: '' });
  t.equal(boot.clusters[0].upstreamProtocol, 'HTTP2', 'deprecated http2_protocol_options still selects HTTP/2');
  t.same(boot.listeners, []);
});

t.test('JSON with lowerCamelCase names and RDS from a file', async (t) => {
  const boot = loadBootstrap(fixture('ingress.json'));
  const hcm = boot.listeners[0].filterChains[0].network as HttpConnectionManager;
  t.equal(hcm.rds, true);
  t.equal(hcm.routeConfigName, 'routes');
  t.same(hcm.rdsConfigSource, { kind: 'path', path: '/etc/legate/rds.yaml' });
  t.equal(boot.clusters[0].connectTimeoutMs, 2500, 'Duration as {seconds, nanos}');
  t.same(boot.routeConfigs, {});
});
