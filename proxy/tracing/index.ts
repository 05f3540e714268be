// tracing/: distributed tracing as Envoy does it (see README.md).
export { HttpTracing, UpstreamSpan, type HttpTracingContext, type TracedRequest } from './http-tracing.ts';
export { closeTracers } from './tracers.ts';
export type { Span, Tracer, TraceDecision, TraceReason } from './span.ts';
