// Bad configs: each is rejected with one line naming the file, the line, the field path, what is
// wrong and how to fix it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadBootstrap } from '../../../proxy/config/index.ts';
import { HTTP_FILTER_TYPES, NETWORK_FILTER_TYPES } from '../../../proxy/config/extensions.ts';

const BASE = `static_resources:
  listeners:
  - name: http
    address:
      socket_address: { address: 0.0.0.0, port_value: 10000 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/static" }
                direct_response: { status: 404 }
              - match: { prefix: "/" }
                route: { cluster: app }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: app
    connect_timeout: 1s
    type: STATIC
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: app
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } }
`;

const HCM = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
const ROUTES = `${HCM}.route_config.virtual_hosts[0].routes`;

const SECOND_LISTENER = `
  - name: http2
    address:
      socket_address: { address: 0.0.0.0, port_value: 10000 }
    filter_chains:
    - filters:
      - name: tcp
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: tcp
          cluster: app
  clusters:`;

interface Case {
  name: string;
  replace: [string, string]; // first occurrence in BASE
  line: string; // the error points at the line where the last occurrence of this text starts
  message: string; // the expected message without the "FILE:LINE: " prefix
}

const cases: Case[] = [
  {
    name: 'unknown field',
    replace: ['connect_timeout: 1s', 'conect_timeout: 1s'],
    line: 'conect_timeout: 1s',
    message: "static_resources.clusters[0].conect_timeout: unknown field 'conect_timeout' in envoy.config.cluster.v3.Cluster (did you mean 'connect_timeout'?)",
  },
  {
    name: 'wrong type',
    replace: ['port_value: 8080', 'port_value: "eighty"'],
    line: 'port_value: "eighty"',
    message: 'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: expected a non-negative integer (uint32), got the string "eighty" (fix the value\'s type)',
  },
  {
    name: 'a list item of the wrong type (a single item is a list of one, as in Envoy)',
    replace: ['domains: ["*"]', 'domains: 8080'],
    line: 'domains: 8080',
    message: `${HCM}.route_config.virtual_hosts[0].domains[0]: expected a string, got the number 8080 (fix the value's type)`,
  },
  {
    name: 'bad duration',
    replace: ['connect_timeout: 1s', 'connect_timeout: 250ms'],
    line: 'connect_timeout: 250ms',
    message: 'static_resources.clusters[0].connect_timeout: expected a duration, got the string "250ms" (write seconds with an "s" suffix, e.g. "5s" or "0.25s")',
  },
  {
    name: 'dangling cluster',
    replace: ['route: { cluster: app }', 'route: { cluster: api }'],
    line: 'route: { cluster: api }',
    message: `${ROUTES}[1].route.cluster: unknown cluster 'api' (the route sends requests to it; define it in static_resources.clusters or fix the name (defined: app))`,
  },
  {
    name: 'duplicate listener address',
    replace: ['\n  clusters:', SECOND_LISTENER],
    line: 'address:\n      socket_address: { address: 0.0.0.0, port_value: 10000 }\n    filter_chains:\n    - filters:\n      - name: tcp',
    message: "static_resources.listeners[1].address: listener 'http2' uses address 0.0.0.0:10000, already used by listener 'http' (give each listener its own address or port)",
  },
  {
    name: 'duplicate listener name',
    replace: ['\n  clusters:', SECOND_LISTENER.replace('name: http2', 'name: http').replace('port_value: 10000', 'port_value: 10001')],
    line: '- name: http\n',
    message: "static_resources.listeners[1].name: duplicate listener name 'http' (listener names must be unique)",
  },
  {
    name: 'duplicate cluster name',
    replace: ['  - name: app\n', '  - name: app\n    type: STATIC\n  - name: app\n'],
    line: '  - name: app\n',
    message: "static_resources.clusters[1].name: duplicate cluster name 'app' (cluster names must be unique)",
  },
  {
    name: 'unsupported filter',
    replace: ['envoy.extensions.filters.http.router.v3.Router', 'envoy.extensions.filters.http.buffer.v3.Buffer'],
    line: 'typed_config:\n              "@type": type.googleapis.com/envoy.extensions.filters.http.buffer',
    message: `${HCM}.http_filters[0].typed_config: unknown or unsupported @type 'envoy.extensions.filters.http.buffer.v3.Buffer' (Legate supports here: ${HTTP_FILTER_TYPES.join(', ')})`,
  },
  {
    name: 'missing router filter',
    replace: [
      '"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
      '"@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
    ],
    line: 'http_filters:',
    message: `${HCM}.http_filters: the last HTTP filter must be the router (add { name: envoy.filters.http.router, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router } } at the end)`,
  },
  {
    name: 'router not last',
    replace: ['          http_filters:\n', '          http_filters:\n          - name: envoy.filters.http.router\n'],
    line: '- name: envoy.filters.http.router\n          - name: envoy.filters.http.router',
    message: `${HCM}.http_filters[0]: the router filter must be the last HTTP filter (move envoy.filters.http.router to the end of http_filters)`,
  },
  {
    name: 'invalid regex',
    replace: ['match: { prefix: "/static" }', 'match: { safe_regex: { regex: "/static/(.*" } }'],
    line: 'safe_regex',
    message: `${ROUTES}[0].match.safe_regex.regex: invalid regex "/static/(.*": Unterminated group (write an RE2 regular expression (no lookaround or backreferences))`,
  },
  {
    name: 'JS-only regex (lookahead is not RE2)',
    replace: ['match: { prefix: "/static" }', 'match: { safe_regex: { regex: "/(?!admin).*" } }'],
    line: 'safe_regex',
    message: `${ROUTES}[0].match.safe_regex.regex: invalid regex "/(?!admin).*": lookahead and lookbehind are not RE2 syntax (write an RE2 regular expression (no lookaround or backreferences))`,
  },
  {
    name: 'bad enum',
    replace: ['lb_policy: ROUND_ROBIN', 'lb_policy: ROUNDROBIN'],
    line: 'lb_policy: ROUNDROBIN',
    message: 'static_resources.clusters[0].lb_policy: unknown value "ROUNDROBIN" for enum envoy.config.cluster.v3.Cluster.LbPolicy (use one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG)',
  },
  {
    name: 'missing listener address',
    replace: ['    address:\n      socket_address: { address: 0.0.0.0, port_value: 10000 }\n', ''],
    line: '- name: http\n',
    message: 'static_resources.listeners[0].address: required field is missing (set address.socket_address with address and port_value)',
  },
  {
    name: 'missing required field from the proto rules',
    replace: ['          stat_prefix: http\n', ''],
    line: 'typed_config:\n          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager',
    message: `${HCM}.stat_prefix: required field is missing (set stat_prefix (string))`,
  },
  {
    name: 'port out of range',
    replace: ['port_value: 10000', 'port_value: 70000'],
    line: 'port_value: 70000',
    message: 'static_resources.listeners[0].address.socket_address.port_value: 70000 is out of range (must be at most 65535) (change the value)',
  },
  {
    name: 'bad @type',
    replace: ['http_connection_manager.v3.HttpConnectionManager', 'http_connection_manager.v3.HttpConnectionManagr'],
    line: 'typed_config:\n          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager',
    message: `${HCM}: unknown or unsupported @type 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManagr' (Legate supports here: ${NETWORK_FILTER_TYPES.join(', ')})`,
  },
  {
    name: 'valid Envoy that Legate does not implement',
    replace: ['    type: STATIC\n', '    type: STATIC\n    filters: [{ name: m }]\n'],
    line: 'filters: [{ name: m }]',
    message: "static_resources.clusters[0].filters[0]: cluster filter 'm' is not supported by Legate (only Istio's istio.metadata_exchange (envoy.tcp.metadataexchange.config.MetadataExchange) is)",
  },
  {
    name: 'STATIC cluster with a host name',
    replace: ['address: 127.0.0.1, port_value: 8080', 'address: app.internal, port_value: 8080'],
    line: 'app.internal',
    message: "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: 'app.internal' is not an IP address (STATIC clusters need IP addresses; use type STRICT_DNS for host names)",
  },
  {
    name: 'two alternatives of a oneof',
    replace: ['route: { cluster: app }', 'route: { cluster: app, cluster_header: x-cluster }'],
    line: 'cluster_header',
    message: `${ROUTES}[1].route.cluster_header: only one of 'cluster', 'cluster_header' may be set (they are alternatives (oneof cluster_specifier); keep one)`,
  },
  {
    name: 'unknown retry condition',
    replace: ['route: { cluster: app }', 'route: { cluster: app, retry_policy: { retry_on: "5xx,timeout" } }'],
    line: 'retry_policy',
    message: `${ROUTES}[1].route.retry_policy.retry_on: unknown retry condition 'timeout' (use a comma-separated list of: 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable)`,
  },
  {
    name: 'weighted clusters adding up to 0',
    replace: ['route: { cluster: app }', 'route: { weighted_clusters: { clusters: [{ name: app, weight: 0 }] } }'],
    line: 'weighted_clusters',
    message: `${ROUTES}[1].route.weighted_clusters.clusters: the weights add up to 0 (give at least one cluster a positive weight)`,
  },
  {
    name: 'YAML syntax error',
    replace: ['domains: ["*"]', 'domains: ["*"'],
    line: 'routes:', // where the parser notices the unclosed list
    message: '',
  },
];

function lineOf(text: string, needle: string): number {
  const at = text.lastIndexOf(needle);
  if (at < 0) throw new Error(`fixture text lacks ${JSON.stringify(needle)}`);
  return text.slice(0, at).split('\n').length;
}

function loadError(file: string): ConfigError {
  try {
    loadBootstrap(file);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('the base config is valid', async (t) => {
  const dir = t.testdir({ 'base.yaml': BASE });
  t.equal(loadBootstrap(`${dir}/base.yaml`).listeners.length, 1);
});

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.ok(BASE.includes(c.replace[0]), 'the case applies to the base config');
    const text = BASE.replace(c.replace[0], c.replace[1]);
    const dir = t.testdir({ 'bootstrap.yaml': text });
    const file = `${dir}/bootstrap.yaml`;
    const err = loadError(file);
    t.notMatch(err.message, /\n/, 'one line');
    t.equal(err.file, file);
    t.equal(err.line, lineOf(text, c.line), `points at the offending line: ${err.message}`);
    if (c.message !== '') t.equal(err.message, `${file}:${err.line}: ${c.message}`);
    else t.match(err.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: invalid YAML: .+ \\(fix the syntax\\)$`));
  });
}

t.test('a missing file', async (t) => {
  const err = loadError('/nonexistent/legate.yaml');
  t.equal(err.message, '/nonexistent/legate.yaml: cannot read config file (ENOENT) (check the path and its permissions)');
});

t.test('JSON errors have line numbers too', async (t) => {
  const json = readFileSync(fileURLToPath(new URL('../../fixtures/config/ingress.json', import.meta.url)), 'utf8');
  const text = json.replace('"portValue": 10001', '"portValue": -1');
  const dir = t.testdir({ 'bootstrap.json': text });
  const err = loadError(`${dir}/bootstrap.json`);
  t.equal(err.line, lineOf(text, '"portValue": -1'));
  t.match(err.message, /static_resources\.listeners\[0\]\.address\.socket_address\.port_value: -1 is out of range for uint32/);
});

t.test('ADS sources without ads_config', async (t) => {
  const text = `${BASE}dynamic_resources:\n  cds_config: { ads: {} }\n`;
  const dir = t.testdir({ 'bootstrap.yaml': text });
  const err = loadError(`${dir}/bootstrap.yaml`);
  t.equal(err.line, lineOf(text, 'cds_config'));
  t.match(err.message, /dynamic_resources\.cds_config: cds_config uses ADS but there is no ads_config \(add dynamic_resources\.ads_config/);
});

// Whatever is thrown at it, the loader answers with a ConfigError, never a TypeError.
t.test('garbage in any field gives a ConfigError', async (t) => {
  const ingress = readFileSync(fileURLToPath(new URL('../../fixtures/config/ingress.yaml', import.meta.url)), 'utf8');
  const lines = ingress.split('\n');
  const garbage = ['null', '[]', '{}', '7', '"x"', 'true', '-1', '{ a: 1 }'];
  const dir = t.testdir({});
  let rejected = 0;
  let checked = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*-?\s*[\w"@.]+:) \S/.exec(lines[i]);
    if (m === null) continue;
    const value = garbage[i % garbage.length];
    const mutated = [...lines];
    mutated[i] = `${m[1]} ${value}`;
    const file = `${dir}/mutated-${i}.yaml`;
    (await import('node:fs')).writeFileSync(file, mutated.join('\n'));
    checked++;
    try {
      loadBootstrap(file);
    } catch (err) {
      if (!(err instanceof ConfigError)) {
        t.fail(`line ${i + 1} set to ${value}: ${(err as Error).stack}`);
        continue;
      }
      if (err.message.includes('\n')) t.fail(`multi-line message: ${err.message}`);
      if (err.message.includes('internal error')) t.fail(`line ${i + 1} set to ${value}: ${err.message}`);
      rejected++;
    }
  }
  t.ok(checked > 100, `mutated ${checked} lines`);
  t.ok(rejected > checked / 2, `${rejected} of ${checked} mutations rejected`);
});

// Found by the bootstrap fuzzer (fuzz/bootstrap): a file nested thousands of levels deep overflowed
// the YAML composer's stack at a depth that varied between calls, so the same file failed with
// different messages. The depth is now checked first, the same way every time.
t.test('deeply nested collections: one error, the same every time', async (t) => {
  const dir = t.testdir({
    'flow.yaml': `${BASE}x: ${'['.repeat(5000)}1${']'.repeat(5000)}\n`,
    'block.json': `{"admin": ${'{"a": '.repeat(3000)}1${'}'.repeat(3000)}}`,
    'compact.yaml': `${'- '.repeat(20000)}x\n`,
    'limit.yaml': `${BASE}node: { metadata: { x: ${'['.repeat(97)}1${']'.repeat(97)} } }\n`,
  });
  for (const name of ['flow.yaml', 'block.json', 'compact.yaml']) {
    const file = `${dir}/${name}`;
    const messages = [loadError(file).message, loadError(file).message];
    t.match(messages[0], /: collections nested more than 100 levels deep \(flatten the file; no Envoy config nests this deep\)$/, name);
    t.equal(messages[1], messages[0], `${name}: the same error twice`);
  }
  t.equal(loadError(`${dir}/flow.yaml`).line, lineOf(`${BASE}x:`, 'x:'), 'the line where the nesting starts');
  // The bootstrap, node and metadata maps and 97 lists: 100 nested collections, the limit, still parse.
  t.equal(loadBootstrap(`${dir}/limit.yaml`).listeners.length, 1);
});
