// An OpenTelemetry span (Envoy's OpenTelemetry::Span): the request's span is SERVER (ingress) or
// CLIENT (egress), each upstream attempt's child is CLIENT under it; tags become string
// attributes (its tags). A finished sampled span goes to its tracer's exporter.
import type { HeaderMap } from '../codec/index.ts';
import { randomId64 } from './ids.ts';
import { RecordedSpan } from './recorded-span.ts';
import type { Span, SpanKind } from './span.ts';
import { injectTraceparent, type W3cContext } from './w3c.ts';

export interface OtelSpanSink {
  report(span: OtelSpan): void;
}

export class OtelSpan extends RecordedSpan<W3cContext> {
  readonly parentId: string; // '' for a root span
  endMs = 0;
  private readonly sink: OtelSpanSink;

  constructor(sink: OtelSpanSink, context: W3cContext, parentId: string, kind: SpanKind, name: string, startMs: number) {
    super(context, kind, name, startMs);
    this.sink = sink;
    this.parentId = parentId;
  }

  injectContext(headers: HeaderMap): void {
    injectTraceparent(headers, this.context);
  }

  spawnChild(name: string, startMs: number): Span {
    return new OtelSpan(this.sink, { ...this.context, spanId: randomId64() }, this.context.spanId, 'CLIENT', name, startMs);
  }

  finish(): void {
    if (this.endMs !== 0) return;
    this.endMs = this.startMs + this.elapsedMs();
    if (this.context.sampled) this.sink.report(this);
  }
}
