// The batching both tracers share (Envoy's Zipkin reporter and OpenTelemetry exporter): finished
// sampled spans wait until min_flush_spans (5) are waiting, or the flush_interval_ms (5000 ms)
// timer fires, and then go out as one report. A report that fails is counted, never resent.
import type { Counter, Store } from '../stats/index.ts';

// Envoy's runtime defaults tracing.<tracer>.min_flush_spans and flush_interval_ms.
const MIN_FLUSH_SPANS = 5;
const FLUSH_INTERVAL_MS = 5000;

export class SpanReporter<S> {
  private readonly send: (spans: S[], sent: () => void) => void;
  private readonly spansSent: Counter;
  private pending: S[] = [];
  private readonly timer: NodeJS.Timeout;

  /** Stats tracing.<tracer>.spans_sent and timer_flushed. */
  /** `send` calls `sent` once the report is answered or has failed. */
  constructor(store: Store, tracer: string, send: (spans: S[], sent: () => void) => void) {
    this.send = send;
    this.spansSent = store.counter(`tracing.${tracer}.spans_sent`);
    const timerFlushed = store.counter(`tracing.${tracer}.timer_flushed`);
    // The timer keeps no process alive: a worker exits when its listeners are gone.
    this.timer = setInterval(() => {
      timerFlushed.inc();
      void this.flush();
    }, FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  report(span: S): void {
    this.pending.push(span);
    if (this.pending.length >= MIN_FLUSH_SPANS) void this.flush();
  }

  /** Sends what is waiting; resolves once that report is answered or has failed. */
  flush(): Promise<void> {
    const spans = this.pending;
    if (spans.length === 0) return Promise.resolve();
    this.pending = [];
    this.spansSent.inc(spans.length);
    return new Promise((resolve) => this.send(spans, resolve));
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return this.flush();
  }
}
