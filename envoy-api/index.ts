// Envoy's API schema: its .proto files (shipped in @grpc/grpc-js-xds's deps/) loaded once, lazily,
// into one protobufjs Root with snake_case field names. Shared by proxy/config (validating
// bootstraps and resources) and xds-client (the discovery service and the proto3 JSON mapping),
// so the schema is loaded once per process. Loading takes ~200 ms. Imports no other part.
// protobufjs itself is loaded on first use too: importing this module costs a worker process
// nothing (workers take translated snapshots and never read a proto).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
let protobufModule: typeof protobuf | undefined;

/** The protobufjs module, loaded on first call. */
export function protobufjs(): typeof protobuf {
  protobufModule ??= require('protobufjs') as typeof protobuf;
  return protobufModule;
}

// The bootstrap, the discovery service, the four resource types, and the extensions that appear
// inside their typed_config fields. Their imports bring the core messages.
const PROTO_FILES = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/connection_limit/v3/connection_limit.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/grpc_stats/v3/config.proto',
  'envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto',
  'envoy/extensions/filters/http/health_check/v3/health_check.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/network/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  // Istio's null-VM Wasm plugins, which Legate runs natively (proxy/config/translate/wasm.ts).
  'envoy/extensions/filters/http/wasm/v3/wasm.proto',
  'envoy/extensions/filters/network/wasm/v3/wasm.proto',
  'envoy/extensions/filters/http/compressor/v3/compressor.proto',
  'envoy/extensions/compression/gzip/compressor/v3/gzip.proto',
  'envoy/extensions/compression/brotli/compressor/v3/brotli.proto',
  'envoy/extensions/compression/zstd/compressor/v3/zstd.proto',
  'envoy/extensions/filters/http/decompressor/v3/decompressor.proto',
  'envoy/extensions/compression/gzip/decompressor/v3/gzip.proto',
  'envoy/extensions/compression/brotli/decompressor/v3/brotli.proto',
  'envoy/extensions/compression/zstd/decompressor/v3/zstd.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/filters/listener/proxy_protocol/v3/proxy_protocol.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/transport_sockets/internal_upstream/v3/internal_upstream.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/bootstrap/internal_listener/v3/internal_listener.proto',
  'envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.proto',
  'envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.proto',
  // Every tracer's config, so the ones Legate does not build are refused by name.
  // (OpenCensus is missing: its protos are not shipped; its type is then unknown, refused all the same.)
  'envoy/config/trace/v3/http_tracer.proto',
  'envoy/extensions/request_id/uuid/v3/uuid.proto',
  'envoy/config/trace/v3/zipkin.proto',
  'envoy/config/metrics/v3/metrics_service.proto', // the bootstrap's envoy.stat_sinks.metrics_service
  'envoy/config/trace/v3/opentelemetry.proto',
  'envoy/config/trace/v3/datadog.proto',
  'envoy/config/trace/v3/lightstep.proto',
  'envoy/config/trace/v3/dynamic_ot.proto',
  'envoy/config/trace/v3/skywalking.proto',
  'envoy/config/trace/v3/xray.proto',
  'xds/type/v3/typed_struct.proto',
  'udpa/type/v1/typed_struct.proto',
  // Listener.filter_chain_matcher's network inputs, IP trie and IP input matcher.
  'xds/type/matcher/v3/ip.proto',
  'envoy/extensions/matching/common_inputs/network/v3/network_inputs.proto',
  'envoy/extensions/matching/input_matchers/ip/v3/ip.proto',
  // set_filter_state, the HTTP and the network filter (their FilterStateValue is shared).
  'envoy/extensions/filters/http/set_filter_state/v3/set_filter_state.proto',
  'envoy/extensions/filters/network/set_filter_state/v3/set_filter_state.proto',
  'istio/envoy/config/filter/http/alpn/v2alpha1/config.proto',
  'istio/envoy/extensions/stats/config.proto',
  'istio/envoy/config/filter/network/metadata_exchange/metadata_exchange.proto',
  // Istio's workload discovery: the bootstrap extension and the Workload resources istiod serves.
  'istio/workload/extension.proto',
  'istio/workload/workload.proto',
];

let root: protobuf.Root | undefined;

export function envoyProtoRoot(): protobuf.Root {
  root ??= loadRoot();
  return root;
}

/** The message type with this full name (with or without the leading dot), or undefined. */
export function lookupMessage(fullName: string): protobuf.Type | undefined {
  const found = envoyProtoRoot().lookup(fullName.startsWith('.') ? fullName : `.${fullName}`);
  return found instanceof protobufjs().Type ? found : undefined;
}

function loadRoot(): protobuf.Root {
  return loadProtoFiles(PROTO_FILES);
}

/**
 * A root of its own with only `files` (Envoy paths such as 'envoy/service/auth/v3/external_auth.proto')
 * and what they import: a worker that needs one service's messages loads them, not the whole schema.
 */
export function loadProtoFiles(files: readonly string[]): protobuf.Root {
  const xdsPackage = path.resolve(path.dirname(require.resolve('@grpc/grpc-js-xds')), '..', '..');
  const deps = path.join(xdsPackage, 'deps');
  const includeDirs = [
    ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(deps, d)),
    // google/protobuf/descriptor.proto, which the validate annotations import.
    path.dirname(require.resolve('protobufjs')),
    // Istio's own messages (filter configs istiod sends packed, its workload API), written for Legate.
    path.join(path.dirname(fileURLToPath(import.meta.url)), 'protos'),
  ];
  const loaded = new (protobufjs().Root)();
  loaded.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  loaded.loadSync([...files], { keepCase: true });
  loaded.resolveAll();
  return loaded;
}
