// HealthCheck translation for gRPC checks: the GrpcHealthCheck fields accepted and their defaults,
// and what Legate rejects by name: a gRPC check on a cluster without HTTP/2 (as Envoy),
// initial_metadata with format operators, and the checkers not built.
import t from 'tap';
import { translateCluster } from '../../../proxy/config/index.ts';
import { staticCluster } from '../../support/bootstrap.ts';

const OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HTTP2 = { typed_extension_protocol_options: { [OPTIONS]: { '@type': `type.googleapis.com/${OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } } } };

function checked(check: object, extra: object = HTTP2) {
  return staticCluster('c', [{ port: 8080 }], { health_checks: [{ timeout: '1s', interval: '5s', unhealthy_threshold: 2, healthy_threshold: 1, ...check }], ...extra });
}

t.test('grpc_health_check: service_name, authority and initial_metadata', async (t) => {
  const { cluster } = translateCluster(checked({
    grpc_health_check: {
      service_name: 'echo.Echo',
      authority: 'health.test',
      initial_metadata: [{ header: { key: 'X-Token', value: 'abc' } }, { header: { key: 'x-env', value: 'prod' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    },
  }));
  t.same(cluster.healthChecks[0].check, {
    kind: 'grpc',
    serviceName: 'echo.Echo',
    authority: 'health.test',
    initialMetadata: [
      { key: 'x-token', value: 'abc', appendAction: 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue: false },
      { key: 'x-env', value: 'prod', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false },
    ],
  });
  t.same(translateCluster(checked({ grpc_health_check: {} })).cluster.healthChecks[0].check, { kind: 'grpc', serviceName: '', authority: '', initialMetadata: [] }, 'empty: the server overall, the cluster name as authority');
});

t.test('every cluster form that can speak HTTP/2 takes a gRPC check', async (t) => {
  const forms = {
    legacy: { http2_protocol_options: {} },
    downstream: { typed_extension_protocol_options: { [OPTIONS]: { '@type': `type.googleapis.com/${OPTIONS}`, use_downstream_protocol_config: { http2_protocol_options: {} } } } },
  };
  for (const [name, extra] of Object.entries(forms)) t.doesNotThrow(() => translateCluster(checked({ grpc_health_check: {} }, extra)), name);
});

t.test('rejected by name', async (t) => {
  t.throws(() => translateCluster(checked({ grpc_health_check: {} }, {})), { message: /health_checks\[0\]\.grpc_health_check: .*must support HTTP\/2 for gRPC health checking/ }, 'an HTTP/1.1 cluster, as Envoy');
  t.throws(
    () => translateCluster(checked({ grpc_health_check: { initial_metadata: [{ header: { key: 'x-host', value: '%UPSTREAM_REMOTE_ADDRESS%' } }] } })),
    { message: /grpc_health_check\.initial_metadata\[0\]\.header\.value: format operators/ },
  );
  t.throws(() => translateCluster(checked({ grpc_health_check: { initial_metadata: [{ header: { key: ':path', value: '/x' } }] } })), { message: /initial_metadata\[0\]\.header\.key: header ':path' cannot be modified/ });
  t.throws(() => translateCluster(checked({ http_health_check: { path: '/h', codec_client_type: 'HTTP2' } })), { message: /codec_client_type: only HTTP1 health checks/ });
  t.throws(() => translateCluster(checked({ custom_health_check: { name: 'envoy.health_checkers.redis' } })), { message: /custom_health_check.*not supported by Legate/ });
});
