// Envoy's circuit breakers for one cluster and priority: counts of open connections, requests
// waiting for a connection, requests in flight and retries in flight, checked against the
// cluster's thresholds. An overflow is the caller's 503 UO. Counts are per worker process.
import type { CircuitBreakerThresholds } from '../config/model.ts';
import type { Gauge, Store } from '../stats/index.ts';
import type { ClusterStats } from './cluster-stats.ts';

/** One resource (Envoy's ResourceLimit): a count, its maximum and its gauges. */
class Resource {
  count = 0;
  private readonly max: () => number;
  private readonly open: Gauge;
  private readonly remaining: Gauge | null;
  private isOpen = false;

  constructor(max: () => number, open: Gauge, remaining: Gauge | null) {
    this.max = max;
    this.open = open;
    this.remaining = remaining;
    open.set(0);
    this.publish();
  }

  canCreate(): boolean {
    return this.count < this.max();
  }

  inc(): void {
    this.count++;
    this.publish();
  }

  dec(): void {
    this.count--;
    this.publish();
  }

  private publish(): void {
    const max = this.max();
    const open = this.count >= max;
    if (open !== this.isOpen) {
      this.isOpen = open;
      this.open.set(open ? 1 : 0);
    }
    this.remaining?.set(Math.max(0, max - this.count));
  }
}

// Every cluster has them (a stats group, see stats/store.ts).
const OPEN_GAUGES: readonly string[] = ['cx_open', 'rq_pending_open', 'rq_open', 'rq_retry_open'];

export class CircuitBreaker {
  readonly thresholds: CircuitBreakerThresholds;
  private readonly stats: ClusterStats;
  private readonly cx: Resource;
  private readonly pending: Resource;
  private readonly rq: Resource;
  private readonly retries: Resource;

  constructor(thresholds: CircuitBreakerThresholds, store: Store, statName: string, stats: ClusterStats) {
    this.thresholds = thresholds;
    this.stats = stats;
    const prefix = `cluster.${statName}.circuit_breakers.${thresholds.priority.toLowerCase()}.`;
    // 'never': workers repeat the same fact, so the merged value is the largest, not the sum.
    const [cxOpen, rqPendingOpen, rqOpen, rqRetryOpen] = store.gauges(prefix, OPEN_GAUGES, 'never');
    const remaining = (name: string) => (thresholds.trackRemaining ? store.gauge(prefix + name, 'never') : null);
    this.cx = new Resource(() => thresholds.maxConnections, cxOpen, remaining('remaining_cx'));
    this.pending = new Resource(() => thresholds.maxPendingRequests, rqPendingOpen, remaining('remaining_pending'));
    this.rq = new Resource(() => thresholds.maxRequests, rqOpen, remaining('remaining_rq'));
    this.retries = new Resource(() => this.maxRetries(), rqRetryOpen, remaining('remaining_retries'));
  }

  /**
   * max_requests: admits one attempt (the router asks before it picks a pool), or counts the
   * overflow and returns false. Envoy checks it when a request gets a connection; Legate checks
   * it up front, so a pending request counts too. Envoy counts this overflow as
   * upstream_rq_pending_overflow. The pools check max_pending_requests with admitPending().
   */
  admitRequest(): boolean {
    if (!this.rq.canCreate()) {
      this.stats.upstreamRqPendingOverflow.inc();
      return false;
    }
    this.rq.inc();
    return true;
  }

  /**
   * max_pending_requests: a request that has to wait for a connection takes a pending slot, or
   * the overflow is counted (upstream_rq_pending_overflow) and false returned. The pool asks this
   * only when no connection is free. Release the slot with pendingDone().
   */
  admitPending(): boolean {
    if (!this.pending.canCreate()) {
      this.stats.upstreamRqPendingOverflow.inc();
      return false;
    }
    this.addPending();
    return true;
  }

  /** A pending attempt got its connection, or ended without one. */
  pendingDone(): void {
    this.pending.dec();
    this.stats.upstreamRqPendingActive.sub(1);
  }

  private addPending(): void {
    this.pending.inc();
    this.stats.upstreamRqPendingTotal.inc();
    this.stats.upstreamRqPendingActive.add(1);
  }

  requestDone(): void {
    this.rq.dec();
  }

  /** Takes a retry slot, held until the retried attempt's outcome; false (counted) on overflow. */
  acquireRetry(): boolean {
    if (!this.retries.canCreate()) {
      this.stats.upstreamRqRetryOverflow.inc();
      return false;
    }
    this.retries.inc();
    return true;
  }

  releaseRetry(): void {
    this.retries.dec();
  }

  /** Whether max_connections allows one more connection (nothing counted). */
  canOpenConnection(): boolean {
    return this.cx.canCreate();
  }

  /** Whether max_connections allows one more connection; counts upstream_cx_overflow when not. */
  admitConnection(): boolean {
    if (this.cx.canCreate()) return true;
    this.stats.upstreamCxOverflow.inc();
    return false;
  }

  connectionOpened(): void {
    this.cx.inc();
  }

  connectionClosed(): void {
    this.cx.dec();
  }

  /** max_retries, or with a retry budget a share of the active and pending requests (at least min_retry_concurrency). */
  private maxRetries(): number {
    const budget = this.thresholds.retryBudget;
    if (budget === undefined) return this.thresholds.maxRetries;
    const active = this.rq.count + this.pending.count; // built before the retries resource reads them
    return Math.max(Math.floor((budget.budgetPercent / 100) * active), budget.minRetryConcurrency);
  }
}
