// Tracing for one HTTP connection manager (Envoy's ActiveStream::traceRequest and
// HttpTracerUtility): the sampling decision, the downstream request's span with Envoy's tags, the
// route decorator's operation name, and the spans of upstream attempts. Built only when the
// connection manager has `tracing` and a tracer resolves, so an untraced connection manager costs
// a request one null check.
import type { StreamInfo } from '../access-log/index.ts';
import { formatResponseFlags } from '../access-log/index.ts';
import type { HeaderMap } from '../codec/index.ts';
import type { HcmTracing, MetadataValue, Route, TracingProvider } from '../config/model.ts';
import type { Counter } from '../stats/index.ts';
import { compileCustomTags, type CompiledTag, type TagHeaders } from './custom-tags.ts';

/** The stream whose span it is, for reading its dynamic metadata (opaque here). */
export type TracedRequest = object;
import { decideTracing } from './sampling.ts';
import type { Span, TraceReason, Tracer } from './span.ts';
import { tracerFor, type TracerContext } from './tracers.ts';

export interface HttpTracingContext extends TracerContext {
  nodeId: string;
  zone: string;
  /** The bootstrap's tracing.http, for a connection manager that names no provider. */
  defaultProvider?: TracingProvider;
  /** A value a filter left in a request's dynamic metadata (for request metadata custom tags). */
  requestMetadata?(request: TracedRequest, filter: string, key: string): MetadataValue | undefined;
}

const DECORATOR_HEADER = 'x-envoy-decorator-operation';

export class HttpTracing {
  readonly spawnUpstreamSpan: boolean;
  private readonly config: HcmTracing;
  private readonly tracer: Tracer;
  private readonly ctx: HttpTracingContext;
  private readonly customTags: CompiledTag[];
  private readonly routeTags = new WeakMap<Route, CompiledTag[]>();
  /** Ingress spans named by the caller's x-envoy-decorator-operation: their responses do not name the route's. */
  private readonly namedByCaller = new WeakSet<Span>();
  private readonly reasons: Record<TraceReason, Counter>;

  /** The tracing of a connection manager, or null when it has none (no `tracing`, or no tracer anywhere). */
  static create(config: HcmTracing | undefined, statPrefix: string, ctx: HttpTracingContext): HttpTracing | null {
    const provider = config?.provider ?? ctx.defaultProvider;
    if (config === undefined || provider === undefined) return null;
    return new HttpTracing(config, provider, statPrefix, ctx);
  }

  private constructor(config: HcmTracing, provider: TracingProvider, statPrefix: string, ctx: HttpTracingContext) {
    this.config = config;
    this.tracer = tracerFor(provider, ctx);
    this.ctx = ctx;
    this.spawnUpstreamSpan = config.spawnUpstreamSpan || (provider.kind === 'zipkin' && provider.splitSpansForRequest);
    this.customTags = compileCustomTags(config.customTags);
    const c = (name: TraceReason) => ctx.store.counter(`http.${statPrefix}.tracing.${name}`);
    this.reasons = {
      random_sampling: c('random_sampling'),
      service_forced: c('service_forced'),
      client_enabled: c('client_enabled'),
      not_traceable: c('not_traceable'),
      health_check: c('health_check'),
    };
  }

  /**
   * The span of a downstream request, once its headers are prepared (x-request-id) and its route
   * is known; null when the incoming trace context is malformed.
   */
  startRequest(headers: HeaderMap, info: StreamInfo, route: Route | undefined): Span | null {
    // A route's tracing replaces the connection manager's sampling (all three percentages).
    const decision = decideTracing(headers, route?.tracing ?? this.config, this.config, info.healthCheck);
    const decorator = route?.decorator;
    this.reasons[decision.reason].inc();
    const egress = this.config.operationName === 'egress';
    const kind = egress && !this.spawnUpstreamSpan ? 'CLIENT' : 'SERVER';
    const span = this.tracer.startSpan(headers, decision, { name: info.authority ?? '', kind, startMs: info.startTime });
    if (span === null) return null;
    span.setTag('node_id', this.ctx.nodeId);
    span.setTag('zone', this.ctx.zone);
    if (decorator !== undefined) span.setOperation(decorator.operation);
    // Egress tells the next hop the operation; ingress takes the one an egress hop sent.
    if (egress) {
      if (decorator?.propagate === true) headers[DECORATOR_HEADER] = decorator.operation;
    } else {
      const override = headers[DECORATOR_HEADER];
      if (override !== undefined) {
        if (typeof override === 'string' && override !== '') {
          span.setOperation(override);
          this.namedByCaller.add(span);
        }
        delete headers[DECORATOR_HEADER];
      }
    }
    return span;
  }

  /** A request the health check filter marked (Envoy counts it at the stream's end: tracing.health_check). */
  countHealthCheck(): void {
    this.reasons.health_check.inc();
  }

  /** Response headers: ingress tells the caller the route's operation, egress takes the one the next hop sent. */
  onResponseHeaders(span: Span, headers: HeaderMap, route: Route | undefined): void {
    const decorator = route?.decorator;
    if (this.config.operationName === 'ingress') {
      if (decorator?.propagate === true && !this.namedByCaller.has(span)) headers[DECORATOR_HEADER] = decorator.operation;
      return;
    }
    const override = headers[DECORATOR_HEADER];
    if (override === undefined) return;
    if (typeof override === 'string' && override !== '') span.setOperation(override);
    delete headers[DECORATOR_HEADER];
  }

  /** The request's span for one upstream attempt: a child span when spawning, else the request's own. */
  startAttempt(parent: Span, headers: HeaderMap, clusterName: string, route: Route | undefined, request: TracedRequest): UpstreamSpan | null {
    if (!this.spawnUpstreamSpan) {
      parent.injectContext(headers);
      return null;
    }
    const span = parent.spawnChild(`router ${this.observabilityName(clusterName)} egress`, Date.now());
    span.injectContext(headers);
    return new UpstreamSpan(this, span, clusterName, this.tagsFor(route), request);
  }

  /** Envoy's finalizeDownstreamSpan: the request's tags, then the span ends. */
  finishRequest(span: Span, info: StreamInfo, route: Route | undefined, request: TracedRequest): void {
    if (span.sampled) {
      const headers = info.requestHeaders;
      const h = (name: string): string | undefined => {
        const v = headers?.[name];
        return v === undefined ? undefined : Array.isArray(v) ? v[0] : String(v);
      };
      const requestId = h('x-request-id');
      if (requestId !== undefined) span.setTag('guid:x-request-id', requestId);
      const path = h('x-envoy-original-path') ?? info.path ?? '';
      const scheme = h('x-forwarded-proto') ?? info.scheme ?? 'http';
      span.setTag('http.url', `${scheme}://${info.authority ?? ''}${path.slice(0, this.config.maxPathTagLength)}`);
      span.setTag('http.method', info.method ?? '');
      span.setTag('downstream_cluster', h('x-envoy-downstream-service-cluster') ?? '-');
      span.setTag('user_agent', h('user-agent') ?? '-');
      span.setTag('http.protocol', info.protocol ?? '-');
      span.setTag('peer.address', hostOf(info.downstreamDirectRemoteAddress ?? ''));
      const clientTraceId = h('x-client-trace-id');
      if (clientTraceId !== undefined) span.setTag('guid:x-client-trace-id', clientTraceId);
      span.setTag('request_size', String(info.bytesReceived));
      span.setTag('response_size', String(info.bytesSent));
      const grpc = h('content-type')?.startsWith('application/grpc') === true;
      if (grpc) {
        span.setTag('grpc.path', info.path ?? '');
        span.setTag('grpc.authority', info.authority ?? '');
        span.setTag('grpc.content_type', h('content-type') ?? '');
        const timeout = h('grpc-timeout');
        if (timeout !== undefined) span.setTag('grpc.timeout', timeout);
      }
      this.commonTags(span, info.upstreamCluster, info.responseCode, formatResponseFlags(info.responseFlags), this.tagsFor(route), request, headers);
      if (grpc) grpcResponseTags(span, info.responseTrailers?.['grpc-status'] !== undefined ? info.responseTrailers : info.responseHeaders);
    }
    span.finish();
  }

  /** Envoy's setCommonTags: component, cluster, status, flags, error, custom tags. */
  commonTags(span: Span, cluster: string | undefined, status: number, flags: string, customTags: readonly CompiledTag[], request: TracedRequest, headers: TagHeaders | undefined): void {
    span.setTag('component', 'proxy');
    if (cluster !== undefined) {
      span.setTag('upstream_cluster', cluster);
      span.setTag('upstream_cluster.name', this.observabilityName(cluster));
    }
    span.setTag('http.status_code', String(status));
    span.setTag('response_flags', flags);
    if (status === 0 || status >= 500) span.setTag('error', 'true');
    if (customTags.length === 0) return;
    const lookup = this.ctx.requestMetadata;
    const source = { headers, metadata: (filter: string, key: string) => lookup?.(request, filter, key) };
    for (const tag of customTags) tag(span, source);
  }

  /** The connection manager's custom tags, with a route's own replacing those of the same name (compiled once per route). */
  private tagsFor(route: Route | undefined): readonly CompiledTag[] {
    const own = route?.tracing?.customTags;
    if (own === undefined || own.length === 0) return this.customTags;
    let tags = this.routeTags.get(route!);
    if (tags === undefined) {
      const names = new Set(own.map((t) => t.tag));
      const kept = compileCustomTags(this.config.customTags.filter((t) => !names.has(t.tag)));
      tags = [...kept, ...compileCustomTags(own)];
      this.routeTags.set(route!, tags);
    }
    return tags;
  }

  private observabilityName(cluster: string): string {
    return this.ctx.clusters.get(cluster)?.config.altStatName || cluster;
  }
}

/** The span of one upstream attempt (Envoy's finalizeUpstreamSpan at its end). */
export class UpstreamSpan {
  readonly span: Span;
  private readonly tracing: HttpTracing;
  private readonly cluster: string;
  private readonly customTags: readonly CompiledTag[];
  private readonly request: TracedRequest;

  constructor(tracing: HttpTracing, span: Span, cluster: string, customTags: readonly CompiledTag[], request: TracedRequest) {
    this.tracing = tracing;
    this.span = span;
    this.cluster = cluster;
    this.customTags = customTags;
    this.request = request;
  }

  /** `status` 0: no answer (a reset, a timeout, a connect failure: `flag` says which). */
  finish(hostAddress: string, status: number, flag: string, requestHeaders: HeaderMap): void {
    const span = this.span;
    if (span.sampled) {
      span.setTag('upstream_address', hostAddress);
      span.setTag('peer.address', hostAddress);
      this.tracing.commonTags(span, this.cluster, status, flag, this.customTags, this.request, requestHeaders);
    }
    span.finish();
  }
}

// gRPC statuses that are the server's fault (Envoy tags them error): UNKNOWN, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS.
const GRPC_ERRORS = new Set(['2', '4', '8', '12', '13', '14', '15']);

function grpcResponseTags(span: Span, headers: TagHeaders | undefined): void {
  const status = headers?.['grpc-status'];
  if (status === undefined) return;
  const code = String(Array.isArray(status) ? status[0] : status);
  span.setTag('grpc.status_code', code);
  const message = headers?.['grpc-message'];
  if (message !== undefined) span.setTag('grpc.message', String(Array.isArray(message) ? message[0] : message));
  if (GRPC_ERRORS.has(code)) span.setTag('error', 'true');
}

// 'ip:port' or '[ip6]:port' -> the ip, as Envoy's peer.address tag for the downstream.
function hostOf(address: string): string {
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.lastIndexOf(':');
  return colon > 0 && address.indexOf(':') === colon ? address.slice(0, colon) : address;
}
