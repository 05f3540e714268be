// Envoy's OpenTelemetry tracer (envoy.tracers.opentelemetry): continues the trace of an incoming
// W3C traceparent (its sampled flag decides) or starts one with a 128-bit trace id (the local
// decision decides); malformed trace context means no span, as in Envoy.
import type { HeaderMap } from '../codec/index.ts';
import { randomId64 } from './ids.ts';
import { OtelSpan, type OtelSpanSink } from './otel-span.ts';
import type { Span, SpanStart, TraceDecision, Tracer } from './span.ts';
import type { SpanReporter } from './span-reporter.ts';
import { extractTraceparent } from './w3c.ts';

export class OtelTracer implements Tracer, OtelSpanSink {
  private readonly reporter: SpanReporter<OtelSpan>;

  constructor(reporter: SpanReporter<OtelSpan>) {
    this.reporter = reporter;
  }

  startSpan(headers: HeaderMap, decision: TraceDecision, start: SpanStart): Span | null {
    const incoming = extractTraceparent(headers);
    if (incoming === 'invalid') return null;
    if (incoming === null) {
      const context = { traceId: randomId64() + randomId64(), spanId: randomId64(), sampled: decision.traced, traceState: '' };
      return new OtelSpan(this, context, '', start.kind, start.name, start.startMs);
    }
    return new OtelSpan(this, { ...incoming, spanId: randomId64() }, incoming.spanId, start.kind, start.name, start.startMs);
  }

  report(span: OtelSpan): void {
    this.reporter.report(span);
  }
}
