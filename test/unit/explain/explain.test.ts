// explain() on a bootstrap with several virtual hosts, header and query matches, a weighted split,
// a redirect, a direct response, a ring-hash route and a TCP chain: the route each request takes,
// the first failed condition of every route above it, and what the action would do.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import { explain, ExplainError, formatTree } from '../../../proxy/explain/index.ts';
import type { ExplainInput } from '../../../proxy/explain/index.ts';
import { hash32 } from '../../../proxy/router/index.ts';
import { bootstrap, HCM_TYPE, ROUTER_TYPE, socketAddress, staticCluster, TCP_PROXY_TYPE } from '../../support/bootstrap.ts';

const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const FILTER_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

const routeConfig = {
  name: 'web_routes',
  virtual_hosts: [
    {
      name: 'api',
      domains: ['api.example.com'],
      routes: [
        { name: 'admin', match: { path: '/admin' }, direct_response: { status: 403, body: { inline_string: 'no' } } },
        { name: 'canary', match: { prefix: '/v1', headers: [{ name: 'x-canary', string_match: { exact: 'yes' } }] }, route: { cluster: 'canary' } },
        { name: 'beta', match: { prefix: '/v1', query_parameters: [{ name: 'beta', string_match: { exact: 'on' } }] }, route: { cluster: 'beta', prefix_rewrite: '/beta' } },
        { name: 'never', match: { prefix: '/v1', runtime_fraction: { default_value: { numerator: 0 } } }, route: { cluster: 'beta' } },
        {
          name: 'split',
          match: { prefix: '/v1' },
          route: {
            weighted_clusters: { clusters: [{ name: 'v1', weight: 75 }, { name: 'v2', weight: 25, request_headers_to_add: [{ header: { key: 'x-version', value: '2' } }] }] },
            timeout: '3s',
            retry_policy: { retry_on: '5xx,reset', num_retries: 2, per_try_timeout: '1s' },
          },
          typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FILTER_CONFIG_TYPE, disabled: true } },
        },
        { name: 'sticky', match: { prefix: '/cart' }, route: { cluster: 'ring', hash_policy: [{ header: { header_name: 'x-user' } }] } },
        { name: 'by-header', match: { prefix: '/pick' }, route: { cluster_header: 'x-cluster' } },
        { name: 'sampled', match: { prefix: '/sample', runtime_fraction: { default_value: { numerator: 30 } } }, route: { cluster: 'v2' } },
        { name: 'unsampled', match: { prefix: '/sample' }, route: { cluster: 'v1' } },
        { name: 'secure', match: { prefix: '/secure' }, route: { cluster: 'secure' } },
      ],
    },
    { name: 'www', domains: ['*.example.com'], routes: [{ name: 'site', match: { prefix: '/' }, route: { cluster: 'v1' } }] },
    { name: 'legacy', domains: ['legacy.example.org'], routes: [{ name: 'moved', match: { prefix: '/' }, redirect: { host_redirect: 'new.example.com', path_redirect: '/moved' } }] },
  ],
};

const hcm = {
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': HCM_TYPE,
    stat_prefix: 'web',
    route_config: routeConfig,
    http_filters: [
      { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE, abort: { http_status: 503, percentage: { numerator: 10 } } } },
      {
        name: 'envoy.filters.http.rbac',
        typed_config: { '@type': RBAC_TYPE, rules: { action: 'DENY', policies: { 'deny-admin': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } } },
      },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ],
  },
};

const listener = {
  name: 'web',
  address: socketAddress('0.0.0.0', 8080),
  filter_chains: [
    { name: 'internal', filter_chain_match: { source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }, filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 'internal', cluster: 'internal', tunneling_config: { hostname: '%DOWNSTREAM_LOCAL_ADDRESS%' } } }] },
    { name: 'public', filters: [hcm] },
  ],
};

const ring = [{ port: 9101 }, { port: 9102 }, { port: 9103 }];
const model = translateBootstrap(bootstrap([listener], [
  staticCluster('canary', [{ port: 9001 }]),
  staticCluster('beta', [{ port: 9002 }]),
  staticCluster('v1', [{ port: 9003 }, { port: 9004, weight: 3 }]),
  staticCluster('v2', [{ port: 9005 }]),
  staticCluster('internal', [{ port: 9006 }]),
  staticCluster('ring', ring, { lb_policy: 'RING_HASH' }),
  staticCluster('secure', [{ port: 9443 }], {
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni: 'api.internal' } },
  }),
]));

const run = (input: Partial<ExplainInput> & { url: string }, meshRetries = false) => explain(model, input, { meshRetries });

t.test('a request past three routes: each names the condition it failed', async (t) => {
  const e = run({ url: 'http://api.example.com:8080/v1/items?beta=off' });
  t.equal(e.listener.name, 'web');
  t.equal(e.filterChain?.name, 'public');
  t.equal(e.filterChain?.networkFilter, 'envoy.filters.network.http_connection_manager');
  t.equal(e.virtualHost?.name, 'api');
  t.same(e.virtualHost?.routes, [
    { name: 'admin', matched: false, failed: "path '/admin' is not '/v1/items'" },
    { name: 'canary', matched: false, failed: "header 'x-canary' exact 'yes': absent" },
    { name: 'beta', matched: false, failed: "query parameter 'beta' exact 'on': 'off'" },
    { name: 'never', matched: false, failed: 'runtime_fraction 0 %: the route never matches' },
    { name: 'split', matched: true },
  ]);
  t.equal(e.route, 'split');
  if (e.action?.kind !== 'route') throw new Error(`a route action, not ${e.action?.kind}`);
  t.same(e.action.clusters, [{ name: 'v1', weight: 75, sharePercent: 75 }, { name: 'v2', weight: 25, sharePercent: 25 }]);
  t.equal(e.action.timeoutMs, 3000);
  t.match(e.action.retry, { source: 'route', retryOn: ['5xx', 'reset'], numRetries: 2, perTryTimeoutMs: 1000 });
  t.match(e.action.requestHeaders, [{ level: 'weighted cluster', cluster: 'v2', add: [{ name: 'x-version', value: '2' }] }]);
  t.same(e.httpFilters, [
    { name: 'envoy.filters.http.fault', type: 'fault', disabled: true },
    { name: 'envoy.filters.http.rbac', type: 'rbac', disabled: false, detail: 'DENY by deny-admin' },
    { name: 'envoy.filters.http.router', type: 'router', disabled: false },
  ], 'the route turns the fault filter off');
  t.same(e.clusters.map((c) => [c.name, c.hostsFrom, c.hosts.map((h) => `${h.address} w${h.weight}`)]), [
    ['v1', 'config', ['127.0.0.1:9003 w1', '127.0.0.1:9004 w3']],
    ['v2', 'config', ['127.0.0.1:9005 w1']],
  ]);
  t.match(formatTree(e), /route beta: query parameter 'beta' exact 'on': 'off'\n/);
});

t.test('a header or a query parameter picks its route', async (t) => {
  const canary = run({ url: 'http://api.example.com:8080/v1/items', headers: { 'x-canary': 'yes' } });
  t.equal(canary.route, 'canary');
  t.same(canary.clusters.map((c) => c.name), ['canary']);
  const beta = run({ url: 'http://api.example.com:8080/v1/items?beta=on' });
  t.equal(beta.route, 'beta');
  t.match(beta.action, { kind: 'route', pathRewrite: { from: '/v1/items?beta=on', to: '/beta/items?beta=on' } });
  t.match(beta.httpFilters[0], { name: 'envoy.filters.http.fault', disabled: false, detail: 'abort 503 on 10 %' });
});

t.test('virtual hosts by authority: exact, wildcard, none', async (t) => {
  t.equal(run({ url: 'http://shop.example.com:8080/' }).virtualHost?.name, 'www');
  t.equal(run({ url: 'http://x:8080/', headers: { host: 'www.example.com' } }).virtualHost?.name, 'www', 'a Host header is the authority');
  const none = run({ url: 'http://other.test:8080/' });
  t.equal(none.virtualHost, null);
  t.equal(none.route, null);
  t.match(none.notes, [/no virtual host .* 'other\.test:8080': 404, response flag NR/]);
});

t.test('a direct response and a redirect', async (t) => {
  t.same(run({ url: 'http://api.example.com:8080/admin' }).action, { kind: 'direct_response', status: 403, bodyBytes: 2 });
  t.same(run({ url: 'http://legacy.example.org:8080/a?b=1' }).action, { kind: 'redirect', status: 301, location: 'http://new.example.com/moved?b=1' });
  const noRoute = run({ url: 'http://api.example.com:8080/elsewhere' });
  t.equal(noRoute.route, null);
  t.equal(noRoute.virtualHost?.routes.length, 10, 'every route was tried');
  t.match(noRoute.notes, [/no route .*404/]);
});

t.test('ring hash: the header hash and the host it lands on', async (t) => {
  const picks = new Set<string>();
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
    const e = run({ url: 'http://api.example.com:8080/cart', headers: { 'x-user': user } });
    const [cluster] = e.clusters;
    t.equal(cluster.hash, hash32(user), `${user}: the hash policy's hash`);
    t.ok(ring.some((h) => `127.0.0.1:${h.port}` === cluster.pick), `${user}: a host of the ring (${cluster.pick})`);
    t.equal(run({ url: 'http://api.example.com:8080/cart', headers: { 'x-user': user } }).clusters[0].pick, cluster.pick, 'the same user, the same host');
    picks.add(cluster.pick!);
  }
  t.ok(picks.size > 1, 'users spread over the ring');
  const anonymous = run({ url: 'http://api.example.com:8080/cart' }).clusters[0];
  t.equal(anonymous.pick, undefined);
  t.match(anonymous.pickNote, /no hash_policy applies/);
});

t.test('cluster_header: the cluster the request names, an unknown one, or none', async (t) => {
  const named = run({ url: 'http://api.example.com:8080/pick', headers: { 'x-cluster': 'v2' } });
  t.match(named.action, { kind: 'route', clusterHeader: 'x-cluster', clusters: [{ name: 'v2', sharePercent: 100 }] });
  t.match(named.clusters, [{ name: 'v2', hosts: [{ address: '127.0.0.1:9005' }] }]);
  t.match(run({ url: 'http://api.example.com:8080/pick', headers: { 'x-cluster': 'nope' } }).clusters, [{ name: 'nope', missing: true, pickNote: "no cluster 'nope': 503, response flag NC" }]);
  const none = run({ url: 'http://api.example.com:8080/pick' });
  t.same(none.clusters, []);
  t.same(none.notes, ["cluster_header 'x-cluster' is absent: 503, response flag NC"]);
});

t.test('a runtime fraction: the route matched, and where the rest fall through to', async (t) => {
  const e = run({ url: 'http://api.example.com:8080/sample' });
  t.equal(e.route, 'sampled');
  t.same(e.virtualHost?.routes.slice(-2), [
    { name: 'sampled', matched: true, note: 'runtime_fraction 30 %: the other 70 % of such requests go on to the next route' },
    { name: 'unsampled', matched: true },
  ]);
  t.match(formatTree(e), /route sampled: matched \(runtime_fraction 30 %.*\)\n +route unsampled: takes the rest\n/);
});

t.test('how the hosts are reached: protocol, TLS and SNI, connect timeout', async (t) => {
  t.same(run({ url: 'http://api.example.com:8080/secure' }).clusters[0].upstream, { protocol: 'HTTP1', tls: 'SNI api.internal', connectTimeoutMs: 1000 });
  t.same(run({ url: 'http://api.example.com:8080/v1' }).clusters[0].upstream, { protocol: 'HTTP1', tls: 'none', connectTimeoutMs: 1000 });
});

t.test('the filter chain by source address, and tcp_proxy', async (t) => {
  const e = run({ url: 'http://api.example.com:8080/', source: '10.1.2.3' });
  t.equal(e.filterChain?.name, 'internal');
  t.same(e.filterChain?.why, ['source_prefix_ranges [10.0.0.0/8] hold 10.1.2.3']);
  t.match(e.action, { kind: 'tcp_proxy', clusters: [{ name: 'internal', sharePercent: 100 }], tunnel: { method: 'CONNECT', hostname: '%DOWNSTREAM_LOCAL_ADDRESS%' } });
  t.match(formatTree(e), /tunnelled in HTTP CONNECT to %DOWNSTREAM_LOCAL_ADDRESS%/);
  t.equal(e.virtualHost, null);
});

t.test('the mesh default retry policy in sidecar mode', async (t) => {
  const e = run({ url: 'http://api.example.com:8080/v1', headers: { 'x-canary': 'yes' } }, true);
  t.match(e.action, { kind: 'route', retry: { source: 'mesh default', retryOn: ['5xx'], numRetries: 3 } });
  t.match(run({ url: 'http://api.example.com:8080/v1', headers: { 'x-canary': 'yes' } }).action, { kind: 'route', retry: undefined });
});

t.test('questions explain cannot answer are one-line errors', async (t) => {
  t.throws(() => run({ url: 'http://api.example.com:8080/', listener: 'x' }), new ExplainError("unknown listener 'x' (listeners: web)"));
  t.throws(() => run({ url: '/v1' }), new ExplainError('URL needs a host, e.g. http://example.com/v1'));
  t.throws(() => run({ url: 'http://api.example.com:9999/' }), /no listener on port 9999 \(web on 0\.0\.0\.0:8080\); name one with --listener/);
  t.throws(() => run({ url: 'ftp://api.example.com/' }), /scheme must be http or https/);
  t.throws(() => run({ url: 'http://api.example.com:8080/', source: 'nowhere' }), /--source must be an IP address/);
});
