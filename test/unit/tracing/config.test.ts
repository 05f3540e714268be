import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';

const ZIPKIN = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';
const zipkin = (extra: object = {}) => ({ name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN, collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans', ...extra } });
const route = { match: { prefix: '/' }, route: { cluster: 'app' } };
const clusters = [staticCluster('app', [{ port: 1 }]), staticCluster('zipkin', [{ port: 2 }])];
const boot = (tracing: object, extra: object = {}) => bootstrap([httpListener('l', routes([route]), { tracing })], clusters, extra);

t.test("Istio's bootstrap tracer and an HCM's tracing", async (t) => {
  const b = translateBootstrap(boot(
    { random_sampling: { value: 1 }, custom_tags: [{ tag: 'ns', environment: { name: 'POD_NAMESPACE', default_value: 'x' } }, { tag: 'dry', metadata: { kind: { request: {} }, metadata_key: { key: 'envoy.filters.http.rbac', path: [{ key: 'shadow_effective_policy_id' }] }, default_value: 'none' } }], max_path_tag_length: 64 },
    { tracing: { http: zipkin({ collector_endpoint_version: 'HTTP_JSON', trace_id_128bit: true, shared_span_context: false }) } },
  ));
  t.match(b.tracing, { kind: 'zipkin', collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorHostname: 'zipkin', traceId128bit: true, sharedSpanContext: false });
  const hcm = b.listeners[0].filterChains[0].network;
  t.match(hcm, { tracing: { customTags: [{ tag: 'ns', kind: 'environment' }, { tag: 'dry', kind: 'request_metadata', filter: 'envoy.filters.http.rbac', key: 'shadow_effective_policy_id', defaultValue: 'none' }] } });
  t.match(hcm, { tracing: { randomSamplingPercent: 1, clientSamplingPercent: 100, overallSamplingPercent: 100, maxPathTagLength: 64, spawnUpstreamSpan: false, operationName: 'ingress' } });
  t.notOk(b.warnings.some((w) => w.includes('tracing') && w.includes('ignored')), 'nothing about tracing is ignored any more');
});

t.test('egress listeners name egress spans; start_child_span spawns upstream spans', async (t) => {
  const listener = httpListener('l', routes([route]), { tracing: { provider: zipkin() } });
  Object.assign(listener, { traffic_direction: 'OUTBOUND' });
  const hcm = (listener.filter_chains[0].filters[0].typed_config as { http_filters: { typed_config: object }[] });
  hcm.http_filters[0].typed_config = { ...hcm.http_filters[0].typed_config, start_child_span: true };
  const b = translateBootstrap(bootstrap([listener], clusters));
  t.match(b.listeners[0].filterChains[0].network, { tracing: { operationName: 'egress', spawnUpstreamSpan: true, provider: { sharedSpanContext: true, traceId128bit: false } } });
});

t.test('the OpenTelemetry tracer over gRPC and HTTP', async (t) => {
  const network = (tracing: object) => translateBootstrap(boot(tracing)).listeners[0].filterChains[0].network as { tracing: { provider: object } };
  const type = 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig';
  t.same(network({ provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': type, grpc_service: { envoy_grpc: { cluster_name: 'zipkin' }, timeout: '0.25s' } } } }).tracing.provider, {
    kind: 'opentelemetry', serviceName: 'unknown_service:envoy', transport: 'grpc', cluster: 'zipkin', authority: 'zipkin',
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', timeoutMs: 250, headers: [],
  });
  t.match(network({ provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': type, service_name: 's', http_service: { http_uri: { uri: 'https://collector:4318/v1/traces?x=1', cluster: 'zipkin', timeout: '1s' } } } } }).tracing.provider, {
    transport: 'http', serviceName: 's', authority: 'collector:4318', path: '/v1/traces?x=1', timeoutMs: 1000,
  });
});

t.test('what Legate does not build is refused by name', async (t) => {
  const refuses = (tracing: object, pattern: RegExp, extra: object = {}) => t.throws(() => translateBootstrap(boot(tracing, extra)), pattern);
  refuses({}, /not supported by Legate: tracer 'envoy\.tracers\.datadog'/, { tracing: { http: { name: 'envoy.tracers.datadog', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.DatadogConfig', collector_cluster: 'zipkin', service_name: 's' } } } });
  const otel = (config: object) => ({ provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig', ...config } } });
  refuses(otel({ grpc_service: { google_grpc: { target_uri: 'otel:4317', stat_prefix: 'o' } } }), /OpenTelemetry collector over google_grpc/);
  refuses(otel({ grpc_service: { envoy_grpc: { cluster_name: 'zipkin' } }, resource_detectors: [{ name: 'envoy.tracers.opentelemetry.resource_detectors.environment', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/envoy.config.trace.v3.Tracing', value: {} } }] }), /resource detectors/);
  refuses({ provider: { name: 'envoy.tracers.lightstep', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.LightstepConfig', collector_cluster: 'zipkin', access_token_file: '/t' } } }, /tracer 'envoy\.tracers\.lightstep'/);
  refuses({ provider: zipkin({ collector_endpoint_version: 'HTTP_PROTO' }) }, /collector_endpoint_version HTTP_PROTO/);
  refuses({ provider: zipkin(), verbose: true }, /not supported by Legate: verbose/);
  refuses({ provider: zipkin(), custom_tags: [{ tag: 'h', metadata: { kind: { host: {} }, metadata_key: { key: 'k', path: [{ key: 'p' }] } } }] }, /custom tag from host metadata/);
  refuses({ provider: zipkin(), custom_tags: [{ tag: 'h', metadata: { kind: { request: {} }, metadata_key: { key: 'k', path: [{ key: 'a' }, { key: 'b' }] } } }] }, /metadata path of 2 keys/);
});
