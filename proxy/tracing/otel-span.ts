// An OpenTelemetry span (Envoy's OpenTelemetry::Span): the request's span is SERVER (ingress) or
// CLIENT (egress), each upstream attempt's child is CLIENT under it; tags become string
// attributes. A finished sampled span goes to its tracer's exporter.
import type { HeaderMap } from '../codec/index.ts';
import { randomId64 } from './ids.ts';
import type { Span, SpanKind } from './span.ts';
import { injectTraceparent, type W3cContext } from './w3c.ts';

export interface OtelSpanSink {
  report(span: OtelSpan): void;
}

export class OtelSpan implements Span {
  readonly context: W3cContext;
  readonly parentId: string; // '' for a root span
  readonly kind: SpanKind;
  readonly startMs: number;
  endMs = 0;
  name: string;
  readonly attributes: Record<string, string> = {};
  private readonly sink: OtelSpanSink;
  private readonly startMono = performance.now();

  constructor(sink: OtelSpanSink, context: W3cContext, parentId: string, kind: SpanKind, name: string, startMs: number) {
    this.sink = sink;
    this.context = context;
    this.parentId = parentId;
    this.kind = kind;
    this.name = name;
    this.startMs = startMs;
  }

  get sampled(): boolean {
    return this.context.sampled;
  }

  setSampled(sampled: boolean): void {
    this.context.sampled = sampled;
  }

  setOperation(name: string): void {
    this.name = name;
  }

  setTag(name: string, value: string): void {
    if (this.context.sampled) this.attributes[name] = value;
  }

  injectContext(headers: HeaderMap): void {
    injectTraceparent(headers, this.context);
  }

  spawnChild(name: string, startMs: number): Span {
    return new OtelSpan(this.sink, { ...this.context, spanId: randomId64() }, this.context.spanId, 'CLIENT', name, startMs);
  }

  finish(): void {
    if (this.endMs !== 0) return;
    this.endMs = this.startMs + (performance.now() - this.startMono);
    if (this.context.sampled) this.sink.report(this);
  }
}
