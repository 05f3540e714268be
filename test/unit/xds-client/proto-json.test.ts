// The proto3 JSON mapping against resources written as YAML, the way a bootstrap holds them.
// Each resource is also built independently with protobufjs's own object form, so neither
// direction is checked only against the other.
import t from 'tap';
import { parse } from 'yaml';
import { anyFromJson, anyToJson, encodeJson, fromJson, ProtoJsonError, toJson } from '../../../xds-client/proto-json.ts';
import type { JsonObject } from '../../../xds-client/proto-json.ts';
import { requireMessage } from '../../../xds-client/protos.ts';

const TYPE = 'type.googleapis.com/';

const listenerYaml = `
name: ingress_http
address:
  socket_address: { address: 0.0.0.0, port_value: 8080 }
per_connection_buffer_limit_bytes: 32768
listener_filters:
- name: envoy.filters.listener.original_dst
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: ingress_http
      stream_idle_timeout: 300s
      request_timeout: 0.25s
      common_http_protocol_options:
        idle_timeout: 3600s
        max_headers_count: 100
      use_remote_address: true
      access_log:
      - name: envoy.access_loggers.stdout
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
          log_format:
            json_format: { status: "%RESPONSE_CODE%", sampled: true, ratio: 2.5, tags: [a, b], none: null }
      rds:
        route_config_name: local_route
        config_source: { ads: {}, resource_api_version: V3 }
      http_filters:
      - name: envoy.filters.http.fault
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
          abort: { http_status: 503, percentage: { numerator: 10, denominator: TEN_THOUSAND } }
          delay: { fixed_delay: 1.5s, percentage: { numerator: 5 } }
      - name: envoy.filters.http.lua
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
          value: CgR0ZXN0
      - name: envoy.filters.http.router
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
`;

// The same listener in protobufjs's object form: Durations as {seconds, nanos}, wrappers as
// {value}, Struct as {fields} (protobufjs spells google.protobuf.Value's fields in camelCase),
// Any as bytes encoded by protobufjs itself.
function nativeListener(): Record<string, unknown> {
  const any = (name: string, object: Record<string, unknown>) => {
    const type = requireMessage(name);
    return { type_url: TYPE + name, value: type.encode(type.fromObject(object)).finish() };
  };
  const hcm = {
    stat_prefix: 'ingress_http',
    stream_idle_timeout: { seconds: 300 },
    request_timeout: { nanos: 250_000_000 },
    common_http_protocol_options: { idle_timeout: { seconds: 3600 }, max_headers_count: { value: 100 } },
    use_remote_address: { value: true },
    access_log: [{
      name: 'envoy.access_loggers.stdout',
      typed_config: any('envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', {
        log_format: {
          json_format: {
            fields: {
              status: { stringValue: '%RESPONSE_CODE%' },
              sampled: { boolValue: true },
              ratio: { numberValue: 2.5 },
              tags: { listValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } },
              none: { nullValue: 0 },
            },
          },
        },
      }),
    }],
    rds: { route_config_name: 'local_route', config_source: { ads: {}, resource_api_version: 2 } },
    http_filters: [
      {
        name: 'envoy.filters.http.fault',
        typed_config: any('envoy.extensions.filters.http.fault.v3.HTTPFault', {
          abort: { http_status: 503, percentage: { numerator: 10, denominator: 1 } },
          delay: { fixed_delay: { seconds: 1, nanos: 500_000_000 }, percentage: { numerator: 5 } },
        }),
      },
      { name: 'envoy.filters.http.lua', typed_config: { type_url: `${TYPE}envoy.extensions.filters.http.lua.v3.Lua`, value: Buffer.from('CgR0ZXN0', 'base64') } },
      { name: 'envoy.filters.http.router', typed_config: any('envoy.extensions.filters.http.router.v3.Router', {}) },
    ],
  };
  return {
    name: 'ingress_http',
    address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
    per_connection_buffer_limit_bytes: { value: 32768 },
    listener_filters: [{
      name: 'envoy.filters.listener.original_dst',
      typed_config: any('envoy.extensions.filters.listener.original_dst.v3.OriginalDst', {}),
    }],
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: any('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm),
      }],
    }],
  };
}

const routeYaml = `
name: local_route
virtual_hosts:
- name: backend
  domains: ["*"]
  routes:
  - match:
      prefix: /
      headers:
      - name: x-big
        range_match: { start: 1, end: "9007199254740993" }
    route:
      cluster: backend
      timeout: 15s
      idle_timeout: 0s
      retry_policy:
        retry_on: 5xx,reset
        num_retries: 3
        per_try_timeout: 0.5s
        retry_back_off: { base_interval: 0.025s, max_interval: 0.25s }
    typed_per_filter_config:
      envoy.filters.http.fault:
        "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
        abort: { http_status: 418, percentage: { numerator: 100 } }
  - match: { safe_regex: { regex: "^/api/.*" } }
    direct_response: { status: 404, body: { inline_string: nope } }
  request_headers_to_add:
  - header: { key: x-legate, value: "1" }
    append_action: OVERWRITE_IF_EXISTS_OR_ADD
`;

const clusterYaml = `
name: backend
type: EDS
eds_cluster_config:
  eds_config: { ads: {}, resource_api_version: V3 }
  service_name: backend
connect_timeout: 5s
lb_policy: LEAST_REQUEST
circuit_breakers:
  thresholds:
  - priority: HIGH
    max_connections: 2048
    max_retries: 5
outlier_detection:
  consecutive_5xx: 3
  interval: 10s
  base_ejection_time: 30s
  max_ejection_percent: 50
common_lb_config:
  healthy_panic_threshold: { value: 40 }
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config:
      http2_protocol_options: { max_concurrent_streams: 100 }
metadata:
  filter_metadata:
    legate: { team: edge, replicas: 3 }
`;

const endpointsYaml = `
cluster_name: backend
endpoints:
- locality: { region: eu, zone: eu-1 }
  lb_endpoints:
  - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9001 } } }
    health_status: HEALTHY
    load_balancing_weight: 3
  priority: 1
policy:
  overprovisioning_factor: 140
`;

function roundTrip(typeName: string, json: JsonObject): unknown {
  const type = requireMessage(typeName);
  return toJson(type, type.decode(encodeJson(type, json)));
}

t.test('a listener decoded from protobufjs bytes reads exactly as its YAML', async (t) => {
  const type = requireMessage('envoy.config.listener.v3.Listener');
  const yaml = parse(listenerYaml) as JsonObject;
  const nativeBytes = type.encode(type.fromObject(nativeListener())).finish();
  t.same(toJson(type, type.decode(nativeBytes)), yaml, 'decoding matches the YAML');
  t.same(Buffer.from(encodeJson(type, yaml)), Buffer.from(nativeBytes), 'encoding the YAML gives the same bytes');
});

t.test('route, cluster and endpoint resources survive encode and decode unchanged', async (t) => {
  t.same(roundTrip('envoy.config.route.v3.RouteConfiguration', parse(routeYaml)), parse(routeYaml));
  t.same(roundTrip('envoy.config.cluster.v3.Cluster', parse(clusterYaml)), parse(clusterYaml));
  t.same(roundTrip('envoy.config.endpoint.v3.ClusterLoadAssignment', parse(endpointsYaml)), parse(endpointsYaml));
});

t.test('JSON shapes of well-known types', async (t) => {
  const route = roundTrip('envoy.config.route.v3.RouteConfiguration', parse(routeYaml)) as any;
  const entry = route.virtual_hosts[0].routes[0];
  t.equal(entry.route.timeout, '15s');
  t.equal(entry.route.idle_timeout, '0s', 'a zero duration that was set stays');
  t.equal(entry.route.retry_policy.per_try_timeout, '0.5s');
  t.equal(entry.route.retry_policy.num_retries, 3, 'UInt32Value is a plain number');
  t.same(entry.match.headers[0].range_match, { start: 1, end: '9007199254740993' }, 'int64 beyond 2^53 stays exact as a string');
  const cluster = roundTrip('envoy.config.cluster.v3.Cluster', parse(clusterYaml)) as any;
  t.equal(cluster.lb_policy, 'LEAST_REQUEST', 'enums by name');
  t.same(cluster.metadata.filter_metadata.legate, { team: 'edge', replicas: 3 }, 'Struct is a plain object');
  const negative = requireMessage('google.protobuf.Duration');
  t.equal(toJson(negative, { seconds: -1, nanos: -500_000_000 }), '-1.5s');
  t.equal(toJson(negative, { seconds: 0, nanos: 1000 }), '0.000001s');
});

t.test('camelCase names are accepted; defaults and null are left out', async (t) => {
  const decoded = roundTrip('envoy.config.cluster.v3.Cluster', {
    name: 'c',
    connectTimeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    dns_lookup_family: null,
  });
  t.same(decoded, { name: 'c', connect_timeout: '1s' });
});

t.test('invalid JSON is rejected with the path of the field', async (t) => {
  const cluster = requireMessage('envoy.config.cluster.v3.Cluster');
  const cases: [unknown, string][] = [
    [{ name: 'c', conect_timeout: '1s' }, 'conect_timeout: unknown field in Cluster'],
    [{ name: 'c', connect_timeout: 5 }, 'connect_timeout: expected a duration'],
    [{ name: 'c', connect_timeout: '5ms' }, 'connect_timeout: expected a duration'],
    [{ name: 7 }, 'name: expected a string'],
    [{ name: 'c', lb_policy: 'FASTEST' }, 'lb_policy: expected one of ROUND_ROBIN'],
    [{ name: 'c', circuit_breakers: { thresholds: [{ max_connections: -1 }] } }, 'circuit_breakers.thresholds[0].max_connections: -1 is out of range'],
    [{ name: 'c', type: 'STATIC', cluster_type: { name: 'x' } }, 'cluster_type: type and cluster_type are both set'],
    [{ name: 'c', metadata: { typed_filter_metadata: { x: { value: 'AA==' } } } }, 'metadata.typed_filter_metadata.x: missing "@type"'],
    [{ name: 'c', metadata: { typed_filter_metadata: { x: { '@type': 'type.googleapis.com/no.such.Type' } } } }, 'unknown type "type.googleapis.com/no.such.Type"'],
  ];
  for (const [json, message] of cases) {
    let caught: unknown;
    try {
      fromJson(cluster, json, '');
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof ProtoJsonError, `rejected: ${message}`);
    t.match((caught as Error | undefined)?.message, message);
  }
});

t.test('Any of well-known types keeps its value under "value"', async (t) => {
  const json = { '@type': `${TYPE}google.protobuf.Duration`, value: '2.5s' };
  t.same(anyToJson(anyFromJson(json)), json);
  const wrapped = { '@type': `${TYPE}google.protobuf.UInt32Value`, value: 7 };
  t.same(anyToJson(anyFromJson(wrapped)), wrapped);
  const struct = { '@type': `${TYPE}xds.type.v3.TypedStruct`, type_url: 'x/y', value: { a: [1, 'b'] } };
  t.same(anyToJson(anyFromJson(struct)), struct, 'TypedStruct carries a Struct');
});

t.test('as lenient as Envoy: enum names in any case, a single value for a list', async (t) => {
  const cluster = requireMessage('envoy.config.cluster.v3.Cluster');
  const decoded = toJson(cluster, cluster.decode(encodeJson(cluster, { name: 'c', type: 'strict_dns', lb_policy: 'round_robin' })));
  t.same(decoded, { name: 'c', type: 'STRICT_DNS' }, 'lower-case names map to the enum (ROUND_ROBIN is the default, so it is not written back)');
  const listener = requireMessage('envoy.config.listener.v3.Listener');
  // Envoy's dynamic-config-fs example gives a filter chain's `filters` as one object.
  const single = toJson(listener, listener.decode(encodeJson(listener, { name: 'l', filter_chains: [{ filters: { name: 'envoy.filters.network.tcp_proxy' } }] })));
  t.same(single, { name: 'l', filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy' }] }] });
});
