// The proto-schema check: proto3 JSON mapping, proto-loader's shapes, validate rules.
import t from 'tap';
import { ConfigError, checkMessage, checkResource } from '../../../proxy/config/index.ts';
import { HTTP_FILTER_TYPES } from '../../../proxy/config/extensions.ts';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';

function error(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('normalises names, durations, wrappers, enums, integers', async (t) => {
  const out = checkMessage(
    {
      name: 'c',
      connectTimeout: '0.25s',
      dns_refresh_rate: { seconds: '3', nanos: 500_000_000 },
      perConnectionBufferLimitBytes: { value: 4096 },
      lb_policy: 3, // RANDOM by number
      type: 'STRICT_DNS',
      ring_hash_lb_config: { minimum_ring_size: '2048' },
      metadata: null,
    },
    CLUSTER,
  );
  t.same(out, {
    name: 'c',
    connect_timeout: 250,
    dns_refresh_rate: 3500,
    per_connection_buffer_limit_bytes: 4096,
    lb_policy: 'RANDOM',
    type: 'STRICT_DNS',
    ring_hash_lb_config: { minimum_ring_size: 2048 },
  });
});

t.test('Struct stays plain JSON; Any is resolved by @type', async (t) => {
  const out = checkMessage(
    {
      id: 'n',
      metadata: { a: [1, { b: null }], 'legate.ratelimit': { limits_path: '/x' } },
    },
    'envoy.config.core.v3.Node',
  );
  t.same(out.metadata, { a: [1, { b: null }], 'legate.ratelimit': { limits_path: '/x' } });

  const filter = checkMessage(
    { name: 'f', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', suppressEnvoyHeaders: true } },
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter',
  );
  t.same(filter.typed_config, { '@type': 'envoy.extensions.filters.http.router.v3.Router', suppress_envoy_headers: true });
});

t.test('TypedStruct carries the real type', async (t) => {
  const filter = checkMessage(
    {
      name: 'f',
      typed_config: {
        '@type': 'type.googleapis.com/xds.type.v3.TypedStruct',
        type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
        value: { suppress_envoy_headers: true },
      },
    },
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter',
  );
  t.same(filter.typed_config, { '@type': 'envoy.extensions.filters.http.router.v3.Router', suppress_envoy_headers: true });
});

t.test('errors', async (t) => {
  t.equal(error(() => checkMessage({ name: 'c', lb_polcy: 'RANDOM' }, CLUSTER, 'clusters[0]')),
    "clusters[0].lb_polcy: unknown field 'lb_polcy' in envoy.config.cluster.v3.Cluster (did you mean 'lb_policy'?)");
  t.equal(error(() => checkMessage({ name: 'c', lb_policy: 'RANDOM', lbPolicy: 'RANDOM' }, CLUSTER)),
    "lb_policy: field 'lb_policy' is given twice (snake_case and lowerCamelCase) (keep one)");
  t.equal(error(() => checkMessage({ name: 'c', respect_dns_ttl: 'yes' }, CLUSTER)),
    'respect_dns_ttl: expected a boolean (true or false), got the string "yes" (fix the value\'s type)');
  t.equal(error(() => checkMessage({ name: 'c', connect_timeout: '-1s' }, CLUSTER)),
    'connect_timeout: -1s is out of range (must be greater than 0s) (change the value)');
  t.equal(error(() => checkMessage({ name: 'c', lb_policy: 99 }, CLUSTER)),
    'lb_policy: unknown value 99 for enum envoy.config.cluster.v3.Cluster.LbPolicy (use one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG)');
  t.equal(error(() => checkMessage({ name: 'f', typed_config: { suppress_envoy_headers: true } }, 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter')),
    `typed_config: missing "@type" (add "@type": type.googleapis.com/<message> (one of ${HTTP_FILTER_TYPES.join(', ')}))`);
  t.equal(error(() => checkMessage({ name: 'f', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'x', cluster: 'c' } }, 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter')),
    `typed_config: type 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy' is not accepted here (Legate supports here: ${HTTP_FILTER_TYPES.join(', ')})`);
  t.equal(error(() => checkMessage('nope', CLUSTER)), 'expected an object (envoy.config.cluster.v3.Cluster), got the string "nope" (fix the value\'s type)');
  t.equal(error(() => checkResource({ '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'l' }, CLUSTER, 'resources[0]')),
    "resources[0]: type 'envoy.config.listener.v3.Listener' is not accepted here (Legate supports here: envoy.config.cluster.v3.Cluster)");
});

t.test('ignored and deprecated fields are reported as warnings', async (t) => {
  const warnings: string[] = [];
  checkMessage({ name: 'c', wait_for_warm_on_init: true, max_requests_per_connection: 5 }, CLUSTER, 'clusters[2]', warnings);
  t.same(warnings, ['clusters[2].wait_for_warm_on_init: ignored by Legate', 'clusters[2].max_requests_per_connection: deprecated in Envoy']);
});
