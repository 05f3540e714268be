// A Zipkin span (Envoy's Zipkin::Span with its ZipkinSpan wrapper), and its Zipkin v2 JSON form.
// The downstream request's span is SERVER (ingress) or CLIENT (egress); each upstream attempt's
// child span is CLIENT, with a new id whose parent is the request's span. With
// shared_span_context an ingress span continuing an incoming context takes the caller's span id
// (Zipkin's "shared" server half) instead of a new one.
import type { HeaderMap } from '../codec/index.ts';
import { injectB3, type SpanContext } from './b3.ts';
import { randomId64 } from './ids.ts';
import { RecordedSpan } from './recorded-span.ts';
import type { Span, SpanKind } from './span.ts';

/** What a span needs of its tracer: where finished sampled spans go and how the local end is described. */
export interface ZipkinSpanSink {
  readonly localEndpoint: ZipkinEndpoint;
  report(span: ZipkinSpan): void;
}

export interface ZipkinEndpoint {
  serviceName: string;
  ipv4?: string;
  ipv6?: string;
}

/** One span in Zipkin's v2 JSON model (POST /api/v2/spans takes an array of these). */
export interface ZipkinSpanJson {
  traceId: string;
  parentId?: string;
  id: string;
  kind: SpanKind;
  name: string;
  timestamp: number; // microseconds since the epoch
  duration: number; // microseconds
  localEndpoint: ZipkinEndpoint;
  tags: Record<string, string>;
  shared?: true;
}

export class ZipkinSpan extends RecordedSpan<SpanContext> {
  private readonly sink: ZipkinSpanSink;
  private readonly shared: boolean;
  private durationUs = -1;

  constructor(sink: ZipkinSpanSink, context: SpanContext, kind: SpanKind, name: string, startMs: number, shared = false) {
    super(context, kind, name, startMs);
    this.sink = sink;
    this.shared = shared;
  }

  injectContext(headers: HeaderMap): void {
    injectB3(headers, this.context);
  }

  spawnChild(name: string, startMs: number): Span {
    const { traceId, spanId, sampled } = this.context;
    return new ZipkinSpan(this.sink, { traceId, spanId: randomId64(), parentId: spanId, sampled }, 'CLIENT', name, startMs);
  }

  finish(): void {
    if (this.durationUs >= 0) return;
    this.durationUs = Math.max(1, Math.round(this.elapsedMs() * 1000));
    if (this.context.sampled) this.sink.report(this);
  }

  toJSON(): ZipkinSpanJson {
    const json: ZipkinSpanJson = {
      traceId: this.context.traceId,
      id: this.context.spanId,
      kind: this.kind,
      name: this.name,
      timestamp: Math.round(this.startMs * 1000),
      duration: this.durationUs,
      localEndpoint: this.sink.localEndpoint,
      tags: this.tags,
    };
    if (this.context.parentId !== '') json.parentId = this.context.parentId;
    if (this.shared) json.shared = true;
    return json;
  }
}
