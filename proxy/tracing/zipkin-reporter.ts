// Envoy's Zipkin reporter: finished sampled spans wait in a buffer that is sent as one JSON array
// when it holds min_flush_spans (5) spans, or by a timer every flush_interval_ms (5000 ms),
// POSTed to the collector cluster's collector_endpoint. A 202 counts as reports_sent, any other
// answer as reports_dropped, no answer as reports_failed; spans are not resent.
import type { Counter, Store } from '../stats/index.ts';
import type { ZipkinSpan } from './zipkin-span.ts';

// Envoy's runtime defaults tracing.zipkin.min_flush_spans, flush_interval_ms and request_timeout.
const MIN_FLUSH_SPANS = 5;
const FLUSH_INTERVAL_MS = 5000;
const REQUEST_TIMEOUT_MS = 5000;

/** How a batch reaches the collector: the HTTP status, 0 for no answer, 'no-cluster' when the cluster is unknown. */
export type SendBatch = (body: Buffer, timeoutMs: number, done: (status: number | 'no-cluster') => void) => void;

export class ZipkinStats {
  readonly spansSent: Counter;
  readonly timerFlushed: Counter;
  readonly reportsSent: Counter;
  readonly reportsDropped: Counter;
  readonly reportsFailed: Counter;
  readonly reportsSkippedNoCluster: Counter;

  constructor(store: Store) {
    const c = (name: string) => store.counter(`tracing.zipkin.${name}`);
    this.spansSent = c('spans_sent');
    this.timerFlushed = c('timer_flushed');
    this.reportsSent = c('reports_sent');
    this.reportsDropped = c('reports_dropped');
    this.reportsFailed = c('reports_failed');
    this.reportsSkippedNoCluster = c('reports_skipped_no_cluster');
  }
}

export class ZipkinReporter {
  private readonly send: SendBatch;
  private readonly stats: ZipkinStats;
  private pending: ZipkinSpan[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(send: SendBatch, stats: ZipkinStats) {
    this.send = send;
    this.stats = stats;
    // The timer keeps no process alive: a worker exits when its listeners are gone.
    this.timer = setInterval(() => {
      this.stats.timerFlushed.inc();
      this.flush();
    }, FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  report(span: ZipkinSpan): void {
    this.pending.push(span);
    if (this.pending.length >= MIN_FLUSH_SPANS) this.flush();
  }

  flush(): void {
    const spans = this.pending;
    if (spans.length === 0) return;
    this.pending = [];
    this.stats.spansSent.inc(spans.length);
    const stats = this.stats;
    this.send(Buffer.from(JSON.stringify(spans)), REQUEST_TIMEOUT_MS, (status) => {
      if (status === 'no-cluster') stats.reportsSkippedNoCluster.inc();
      else if (status === 0) stats.reportsFailed.inc();
      else if (status === 202) stats.reportsSent.inc();
      else stats.reportsDropped.inc();
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
