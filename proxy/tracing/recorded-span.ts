// What Zipkin's and OpenTelemetry's spans share: the sampling flag of their trace context, a name,
// string tags kept only while sampled, and a start on both clocks (the epoch for the report, the
// monotonic clock for the duration). Each tracer adds its context propagation and its report.
import type { HeaderMap } from '../codec/index.ts';
import type { Span, SpanKind } from './span.ts';

export abstract class RecordedSpan<Context extends { sampled: boolean }> implements Span {
  readonly context: Context;
  readonly kind: SpanKind;
  /** Epoch milliseconds. */
  readonly startMs: number;
  name: string;
  readonly tags: Record<string, string> = {};
  private readonly startMono = performance.now();

  constructor(context: Context, kind: SpanKind, name: string, startMs: number) {
    this.context = context;
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
    if (this.context.sampled) this.tags[name] = value;
  }

  /** Milliseconds since the span started, on the monotonic clock. */
  protected elapsedMs(): number {
    return performance.now() - this.startMono;
  }

  abstract injectContext(headers: HeaderMap): void;
  abstract spawnChild(name: string, startMs: number): Span;
  abstract finish(): void;
}
