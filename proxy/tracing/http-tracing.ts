// Tracing for one HTTP connection manager (Envoy's ActiveStream::traceRequest and
// HttpTracerUtility): the sampling decision, the downstream request's span with Envoy's tags, the
// route decorator's operation name, and the spans of upstream attempts. Built only when the
// connection manager has `tracing` and a tracer resolves, so an untraced connection manager costs
// a request one null check.
import type { StreamInfo } from '../access-log/index.ts';
import { formatResponseFlags } from '../access-log/index.ts';
import type { HeaderMap } from '../codec/index.ts';
import type { HcmTracing, TracingProvider } from '../config/model.ts';
import type { Counter } from '../stats/index.ts';
import { compileCustomTags, type CompiledTag, type TagHeaders } from './custom-tags.ts';
import { decideTracing } from './sampling.ts';
import type { Span, TraceReason, Tracer } from './span.ts';
import { tracerFor, type TracerContext } from './tracers.ts';

export interface HttpTracingContext extends TracerContext {
  nodeId: string;
  zone: string;
  /** The bootstrap's tracing.http, for a connection manager that names no provider. */
  defaultProvider?: TracingProvider;
}

export interface Decorator {
  operation: string;
  propagate: boolean;
}

const DECORATOR_HEADER = 'x-envoy-decorator-operation';

export class HttpTracing {
  readonly spawnUpstreamSpan: boolean;
  private readonly config: HcmTracing;
  private readonly tracer: Tracer;
  private readonly ctx: HttpTracingContext;
  private readonly customTags: CompiledTag[];
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
  startRequest(headers: HeaderMap, info: StreamInfo, decorator: Decorator | undefined): Span | null {
    const decision = decideTracing(headers, this.config, info.healthCheck);
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
        if (typeof override === 'string' && override !== '') span.setOperation(override);
        delete headers[DECORATOR_HEADER];
      }
    }
    return span;
  }

  /** Response headers: ingress tells the caller the route's operation, egress takes the one the next hop sent. */
  onResponseHeaders(span: Span, headers: HeaderMap, decorator: Decorator | undefined): void {
    if (this.config.operationName === 'ingress') {
      if (decorator?.propagate === true) headers[DECORATOR_HEADER] = decorator.operation;
      return;
    }
    const override = headers[DECORATOR_HEADER];
    if (override === undefined) return;
    if (typeof override === 'string' && override !== '') span.setOperation(override);
    delete headers[DECORATOR_HEADER];
  }

  /** The request's span for one upstream attempt: a child span when spawning, else the request's own. */
  startAttempt(parent: Span, headers: HeaderMap, clusterName: string): UpstreamSpan | null {
    if (!this.spawnUpstreamSpan) {
      parent.injectContext(headers);
      return null;
    }
    const span = parent.spawnChild(`router ${this.observabilityName(clusterName)} egress`, Date.now());
    span.injectContext(headers);
    return new UpstreamSpan(this, span, clusterName);
  }

  /** Envoy's finalizeDownstreamSpan: the request's tags, then the span ends. */
  finishRequest(span: Span, info: StreamInfo): void {
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
      span.setTag('http.url', `${scheme}://${info.authority ?? ''}${path}`.slice(0, `${scheme}://${info.authority ?? ''}`.length + this.config.maxPathTagLength));
      span.setTag('http.method', info.method ?? '');
      span.setTag('downstream_cluster', h('x-envoy-downstream-service-cluster') ?? '-');
      span.setTag('user_agent', h('user-agent') ?? '-');
      span.setTag('http.protocol', info.protocol ?? '-');
      span.setTag('peer.address', hostOf(info.downstreamDirectRemoteAddress ?? ''));
      const clientTraceId = h('x-client-trace-id');
      if (clientTraceId !== undefined) span.setTag('guid:x-client-trace-id', clientTraceId);
      span.setTag('request_size', String(info.bytesReceived));
      span.setTag('response_size', String(info.bytesSent));
      this.commonTags(span, info.upstreamCluster, info.responseCode, formatResponseFlags(info.responseFlags), headers);
    }
    span.finish();
  }

  /** Envoy's setCommonTags: component, cluster, status, flags, error, custom tags. */
  commonTags(span: Span, cluster: string | undefined, status: number, flags: string, requestHeaders: TagHeaders | undefined): void {
    span.setTag('component', 'proxy');
    if (cluster !== undefined) {
      span.setTag('upstream_cluster', cluster);
      span.setTag('upstream_cluster.name', this.observabilityName(cluster));
    }
    span.setTag('http.status_code', String(status));
    span.setTag('response_flags', flags);
    if (status === 0 || status >= 500) span.setTag('error', 'true');
    for (const tag of this.customTags) tag(span, requestHeaders);
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

  constructor(tracing: HttpTracing, span: Span, cluster: string) {
    this.tracing = tracing;
    this.span = span;
    this.cluster = cluster;
  }

  /** `status` 0: no answer (a reset, a timeout, a connect failure: `flag` says which). */
  finish(hostAddress: string, status: number, flag: string, requestHeaders: HeaderMap): void {
    const span = this.span;
    if (span.sampled) {
      span.setTag('upstream_address', hostAddress);
      span.setTag('peer.address', hostAddress);
      this.tracing.commonTags(span, this.cluster, status, flag, requestHeaders);
    }
    span.finish();
  }
}

// 'ip:port' or '[ip6]:port' -> the ip, as Envoy's peer.address tag for the downstream.
function hostOf(address: string): string {
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.lastIndexOf(':');
  return colon > 0 && address.indexOf(':') === colon ? address.slice(0, colon) : address;
}
