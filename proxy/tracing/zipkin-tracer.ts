// Envoy's Zipkin tracer (envoy.tracers.zipkin): continues the trace of an incoming B3 context or
// starts one (a 64-bit trace id, or 128-bit with trace_id_128bit), takes the sampling flag the
// caller sent over the local decision, and hands finished sampled spans to the reporter.
import { networkInterfaces } from 'node:os';
import type { HeaderMap } from '../codec/index.ts';
import type { ZipkinProvider } from '../config/model.ts';
import { extractSampled, extractSpanContext } from './b3.ts';
import { randomId64 } from './ids.ts';
import type { Span, SpanStart, TraceDecision, Tracer } from './span.ts';
import type { SpanReporter } from './span-reporter.ts';
import { ZipkinSpan, type ZipkinEndpoint, type ZipkinSpanSink } from './zipkin-span.ts';

export class ZipkinTracer implements Tracer, ZipkinSpanSink {
  readonly localEndpoint: ZipkinEndpoint;
  private readonly config: ZipkinProvider;
  private readonly reporter: SpanReporter<ZipkinSpan>;

  constructor(config: ZipkinProvider, reporter: SpanReporter<ZipkinSpan>, serviceName: string) {
    this.config = config;
    this.reporter = reporter;
    this.localEndpoint = { serviceName, ...localAddress() };
  }

  startSpan(headers: HeaderMap, decision: TraceDecision, start: SpanStart): Span | null {
    const sampled = extractSampled(headers) ?? decision.traced;
    const incoming = extractSpanContext(headers, sampled);
    if (incoming === 'invalid') return null;
    if (incoming === null) {
      const id = randomId64();
      const traceId = this.config.traceId128bit ? randomId64() + id : id;
      return new ZipkinSpan(this, { traceId, spanId: id, parentId: '', sampled }, start.kind, start.name, start.startMs);
    }
    // The server half of the caller's span, sharing its id (Zipkin's shared span), or a child of it.
    if (start.kind === 'SERVER' && this.config.sharedSpanContext) {
      return new ZipkinSpan(this, incoming, start.kind, start.name, start.startMs, true);
    }
    const context = { traceId: incoming.traceId, spanId: randomId64(), parentId: incoming.spanId, sampled };
    return new ZipkinSpan(this, context, start.kind, start.name, start.startMs);
  }

  report(span: ZipkinSpan): void {
    this.reporter.report(span);
  }
}

// Envoy's local_info address: this machine's first external address (loopback when it has none).
function localAddress(): { ipv4?: string; ipv6?: string } {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (!a.internal && a.family === 'IPv4') return { ipv4: a.address };
  }
  return { ipv4: '127.0.0.1' };
}
