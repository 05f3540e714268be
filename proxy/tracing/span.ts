// The tracer contract (Envoy's Tracing::Driver and Tracing::Span): a tracer starts a span for a
// downstream request from the trace context its headers carry; a span takes tags, writes its
// context into an upstream request's headers, spawns child spans and is finished once. Only
// sampled spans are reported; an unsampled one still propagates its context (x-b3-sampled: 0).
import type { HeaderMap } from '../codec/index.ts';

export type SpanKind = 'SERVER' | 'CLIENT';

export interface Span {
  readonly sampled: boolean;
  /** Overrides the sampling decision (the health check filter unsamples its requests, as Envoy's setSampled). */
  setSampled(sampled: boolean): void;
  /** The span's name (Envoy's operation): a route decorator or x-envoy-decorator-operation replaces the default. */
  setOperation(name: string): void;
  setTag(name: string, value: string): void;
  /** Writes this span's context into headers going upstream. */
  injectContext(headers: HeaderMap): void;
  /** A child span (an upstream attempt), started now (epoch ms). */
  spawnChild(name: string, startMs: number): Span;
  finish(): void;
}

/** Why a request is traced or not (Envoy's Tracing::Reason), counted in http.<prefix>.tracing.*. */
export type TraceReason = 'random_sampling' | 'service_forced' | 'client_enabled' | 'not_traceable' | 'health_check';

export interface TraceDecision {
  reason: TraceReason;
  traced: boolean;
}

export interface SpanStart {
  /** The default name: the request's host (Envoy's Zipkin span name). */
  name: string;
  kind: SpanKind;
  startMs: number; // epoch milliseconds
}

/** A tracer (Envoy's Driver): one per provider config per worker. */
export interface Tracer {
  /** A span for a downstream request, continuing the trace its headers carry; null when they are malformed. */
  startSpan(headers: HeaderMap, decision: TraceDecision, start: SpanStart): Span | null;
}
