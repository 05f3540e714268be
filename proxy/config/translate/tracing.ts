// Tracing config: HttpConnectionManager.tracing and the tracer (envoy.config.trace.v3.Tracing.Http,
// in the HCM's tracing.provider or the bootstrap's tracing.http). Legate builds the Zipkin tracer;
// every other tracer is refused by name, never accepted and left silent.
import { indexPath, joinPath } from '../errors.ts';
import type { CustomTag, HcmTracing, RouteTracing, TracingProvider } from '../model.ts';
import { bool, fractionalPercent, list, ms, num, obj, reject, str } from './common.ts';
import type { Raw } from './common.ts';

const ZIPKIN_TYPE = 'envoy.config.trace.v3.ZipkinConfig';
const OPENTELEMETRY_TYPE = 'envoy.config.trace.v3.OpenTelemetryConfig';
const OTLP_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
const UUID_REQUEST_ID_TYPE = 'envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig';

// The tracers Envoy knows, by config type, for a clear refusal.
const OTHER_TRACERS: Record<string, string> = {
  'envoy.config.trace.v3.DatadogConfig': 'envoy.tracers.datadog',
  'envoy.config.trace.v3.LightstepConfig': 'envoy.tracers.lightstep',
  'envoy.config.trace.v3.DynamicOtConfig': 'envoy.tracers.dynamic_ot',
  'envoy.config.trace.v3.SkyWalkingConfig': 'envoy.tracers.skywalking',
  'envoy.config.trace.v3.XRayConfig': 'envoy.tracers.xray',
  'envoy.config.trace.v3.OpenCensusConfig': 'envoy.tracers.opencensus',
};

/** A Tracing.Http (name + typed_config): the Zipkin or OpenTelemetry tracer, or a refusal naming the tracer. */
export function translateTracingProvider(raw: Raw, path: string): TracingProvider {
  const config = obj(raw, 'typed_config');
  const configPath = joinPath(path, 'typed_config');
  const name = str(raw, 'name');
  const type = config === undefined ? '' : str(config, '@type');
  if (type === OPENTELEMETRY_TYPE) return openTelemetry(config as Raw, configPath);
  if (type !== ZIPKIN_TYPE) {
    const tracer = OTHER_TRACERS[type] ?? (name || type || '(unnamed)');
    reject(config === undefined ? path : configPath, `not supported by Legate: tracer '${tracer}'`, 'use envoy.tracers.zipkin or envoy.tracers.opentelemetry, or remove tracing');
  }
  const zipkin = config as Raw;
  const version = str(zipkin, 'collector_endpoint_version', 'HTTP_JSON');
  if (version !== 'HTTP_JSON') {
    reject(joinPath(configPath, 'collector_endpoint_version'), `not supported by Legate: Zipkin collector_endpoint_version ${version}`, 'use HTTP_JSON (Zipkin v2 JSON spans)');
  }
  const cluster = str(zipkin, 'collector_cluster');
  if (cluster === '') reject(joinPath(configPath, 'collector_cluster'), 'required field is missing', 'name the cluster of the Zipkin collector');
  const endpoint = str(zipkin, 'collector_endpoint');
  if (endpoint === '') reject(joinPath(configPath, 'collector_endpoint'), 'required field is missing', 'set the collector path, e.g. /api/v2/spans');
  return {
    kind: 'zipkin',
    collectorCluster: cluster,
    collectorEndpoint: endpoint,
    collectorHostname: str(zipkin, 'collector_hostname') || cluster,
    traceId128bit: bool(zipkin, 'trace_id_128bit', false),
    sharedSpanContext: bool(zipkin, 'shared_span_context', true),
    splitSpansForRequest: bool(zipkin, 'split_spans_for_request', false),
  };
}

/** HttpConnectionManager.tracing. `startChildSpan` is the router's start_child_span (spawn_upstream_span's default). */
export function translateHcmTracing(raw: Raw, path: string, startChildSpan: boolean, requestId: RequestIdOptions): HcmTracing {
  if (raw.verbose === true) reject(joinPath(path, 'verbose'), 'not supported by Legate: verbose tracing (timing annotations)', 'remove verbose');
  const tracing: HcmTracing = {
    clientSamplingPercent: percent(obj(raw, 'client_sampling'), 100),
    randomSamplingPercent: percent(obj(raw, 'random_sampling'), 100),
    overallSamplingPercent: percent(obj(raw, 'overall_sampling'), 100),
    maxPathTagLength: num(raw, 'max_path_tag_length', 256),
    customTags: list(raw, 'custom_tags').map((t, i) => customTag(t, indexPath(joinPath(path, 'custom_tags'), i))),
    spawnUpstreamSpan: bool(raw, 'spawn_upstream_span', startChildSpan),
    operationName: 'ingress',
    ...requestId,
  };
  const provider = obj(raw, 'provider');
  if (provider !== undefined) tracing.provider = translateTracingProvider(provider, joinPath(path, 'provider'));
  return tracing;
}

/** Route.tracing: FractionalPercents (100 % when unset) and custom tags. */
export function translateRouteTracing(raw: Raw, path: string): RouteTracing {
  return {
    clientSamplingPercent: fractionalPercent(obj(raw, 'client_sampling'), 100),
    randomSamplingPercent: fractionalPercent(obj(raw, 'random_sampling'), 100),
    overallSamplingPercent: fractionalPercent(obj(raw, 'overall_sampling'), 100),
    customTags: list(raw, 'custom_tags').map((t, i) => customTag(t, indexPath(joinPath(path, 'custom_tags'), i))),
  };
}

function customTag(raw: Raw, path: string): CustomTag {
  const tag = str(raw, 'tag');
  const literal = obj(raw, 'literal');
  if (literal !== undefined) return { tag, kind: 'literal', value: str(literal, 'value') };
  const environment = obj(raw, 'environment');
  if (environment !== undefined) return { tag, kind: 'environment', name: str(environment, 'name'), defaultValue: str(environment, 'default_value') };
  const header = obj(raw, 'request_header');
  if (header !== undefined) return { tag, kind: 'request_header', name: str(header, 'name').toLowerCase(), defaultValue: str(header, 'default_value') };
  const metadata = obj(raw, 'metadata') ?? {};
  const kind = obj(metadata, 'kind') ?? {};
  if (kind.request === undefined) {
    const which = Object.keys(kind)[0] ?? '(unset)';
    reject(joinPath(path, 'metadata.kind'), `not supported by Legate: a custom tag from ${which} metadata`, 'use request metadata, a literal, an environment variable or a request header');
  }
  const metadataKey = obj(metadata, 'metadata_key') ?? {};
  const segments = list(metadataKey, 'path');
  if (segments.length !== 1) reject(joinPath(path, 'metadata.metadata_key.path'), `not supported by Legate: a metadata path of ${segments.length} keys`, "name one key: Legate's dynamic metadata is one level under the filter's name");
  return { tag, kind: 'request_metadata', filter: str(metadataKey, 'key'), key: str(segments[0], 'key'), defaultValue: str(metadata, 'default_value') };
}

// envoy.type.v3.Percent: {value: 0-100}.
function percent(raw: Raw | undefined, fallback: number): number {
  return raw === undefined ? fallback : Math.min(100, Math.max(0, num(raw, 'value', 0)));
}

type RequestIdOptions = Pick<HcmTracing, 'packTraceReason' | 'useRequestIdForTraceSampling'>;

/** request_id_extension: Envoy's UUID request ids (the only kind Envoy has), with their two switches. */
export function requestIdExtension(raw: Raw | undefined, path: string): RequestIdOptions {
  const config = raw === undefined ? undefined : obj(raw, 'typed_config');
  if (config === undefined) return { packTraceReason: true, useRequestIdForTraceSampling: true };
  const type = str(config, '@type');
  if (type !== UUID_REQUEST_ID_TYPE) reject(joinPath(path, 'typed_config'), `not supported by Legate: request id extension '${type}'`, 'use envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig or remove it');
  return { packTraceReason: bool(config, 'pack_trace_reason', true), useRequestIdForTraceSampling: bool(config, 'use_request_id_for_trace_sampling', true) };
}

/** The router filter's start_child_span (Envoy's older switch for a span per upstream request). */
export function routerStartsChildSpans(hcm: Raw): boolean {
  const router = list(hcm, 'http_filters').find((f) => str(obj(f, 'typed_config') ?? {}, '@type') === ROUTER_TYPE);
  return router !== undefined && bool(obj(router, 'typed_config') ?? {}, 'start_child_span', false);
}

// OpenTelemetryConfig: OTLP over gRPC to an Envoy-managed cluster, or over HTTP (http_service).
function openTelemetry(raw: Raw, path: string): TracingProvider {
  if (list(raw, 'resource_detectors').length > 0) reject(joinPath(path, 'resource_detectors'), 'not supported by Legate: OpenTelemetry resource detectors', 'remove them (the resource carries service.name)');
  if (raw.sampler !== undefined) reject(joinPath(path, 'sampler'), 'not supported by Legate: OpenTelemetry samplers', "remove it (the connection manager's sampling applies)");
  const serviceName = str(raw, 'service_name') || 'unknown_service:envoy';
  const grpc = obj(raw, 'grpc_service');
  const http = obj(raw, 'http_service');
  if (grpc !== undefined) {
    const grpcPath = joinPath(path, 'grpc_service');
    const envoyGrpc = obj(grpc, 'envoy_grpc');
    if (envoyGrpc === undefined) reject(grpcPath, 'not supported by Legate: an OpenTelemetry collector over google_grpc', 'use envoy_grpc with the collector cluster');
    const cluster = str(envoyGrpc, 'cluster_name');
    return {
      kind: 'opentelemetry',
      serviceName,
      transport: 'grpc',
      cluster,
      authority: str(envoyGrpc, 'authority') || cluster,
      path: OTLP_EXPORT_PATH,
      timeoutMs: ms(grpc, 'timeout', 0),
      headers: list(grpc, 'initial_metadata').map((h) => [str(h, 'key').toLowerCase(), str(h, 'value')]),
    };
  }
  if (http === undefined) return reject(path, 'the OpenTelemetry tracer needs grpc_service or http_service', 'name the collector cluster in grpc_service.envoy_grpc.cluster_name');
  const httpPath = joinPath(path, 'http_service');
  const uri = obj(http, 'http_uri') ?? {};
  const url = URL.parse(str(uri, 'uri')) ?? URL.parse(`http://${str(uri, 'uri')}`);
  if (url === null) reject(joinPath(httpPath, 'http_uri.uri'), `not a URI: '${str(uri, 'uri')}'`, 'write the collector URL, e.g. http://otel-collector:4318/v1/traces');
  return {
    kind: 'opentelemetry',
    serviceName,
    transport: 'http',
    cluster: str(uri, 'cluster'),
    authority: url.host,
    path: url.pathname + url.search,
    timeoutMs: ms(uri, 'timeout', 0),
    headers: list(http, 'request_headers_to_add').map((h) => {
      const header = obj(h, 'header') ?? {};
      return [str(header, 'key').toLowerCase(), str(header, 'value')];
    }),
  };
}
