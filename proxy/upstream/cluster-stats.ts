// A cluster's stats under Envoy's names (cluster.<name>.*), resolved once when the cluster is
// built so the per-request path only increments.
import type { Counter, Gauge, Histogram, Store } from '../stats/index.ts';

// Every cluster has these from the start, as in Envoy (a stats group: see stats/store.ts).
const COUNTERS: readonly string[] = [
  'upstream_rq_total',
  'upstream_rq_completed',
  'upstream_rq_pending_overflow',
  'upstream_rq_pending_total',
  'upstream_rq_timeout',
  'upstream_rq_per_try_timeout',
  'upstream_rq_retry',
  'upstream_rq_retry_success',
  'upstream_rq_retry_overflow',
  'upstream_rq_retry_limit_exceeded',
  'upstream_rq_rx_reset',
  'upstream_rq_tx_reset',
  'upstream_cx_total',
  'upstream_cx_connect_fail',
  'upstream_cx_overflow',
  'upstream_cx_connect_timeout',
  'upstream_cx_destroy',
  'upstream_cx_none_healthy',
  'upstream_cx_max_requests',
  'upstream_flow_control_paused_reading_total',
  'upstream_flow_control_resumed_reading_total',
  'upstream_cx_idle_timeout',
  'upstream_cx_max_duration_reached',
  'retry_or_shadow_abandoned',
  'upstream_rq_max_duration_reached',
  'upstream_rq_pending_failure_eject',
  'upstream_rq_cancelled',
  'upstream_cx_http1_total',
  'upstream_cx_http2_total',
  'upstream_cx_close_notify',
  'http2.rx_reset',
  'http2.tx_reset',
  'upstream_cx_rx_bytes_total',
  'upstream_cx_tx_bytes_total',
  'membership_change',
  'update_no_rebuild',
  'lb_healthy_panic',
  ...[0, 1, 2, 3, 4, 5].map((k) => `upstream_rq_${k}xx`),
];
const GAUGES: readonly string[] = ['upstream_rq_active', 'upstream_rq_pending_active', 'upstream_cx_active', 'membership_total', 'membership_healthy', 'membership_degraded'];
const COUNTER_SLOT = new Map(COUNTERS.map((name, i) => [name, i]));
const GAUGE_SLOT = new Map(GAUGES.map((name, i) => [name, i]));

export class ClusterStats {
  readonly upstreamRqTotal: Counter;
  readonly upstreamRqCompleted: Counter;
  readonly upstreamRqActive: Gauge;
  readonly upstreamRqPendingOverflow: Counter;
  readonly upstreamRqPendingTotal: Counter;
  readonly upstreamRqPendingActive: Gauge;
  readonly upstreamRqTimeout: Counter;
  readonly upstreamRqPerTryTimeout: Counter;
  readonly upstreamRqRetry: Counter;
  readonly upstreamRqRetrySuccess: Counter;
  readonly upstreamRqRetryOverflow: Counter;
  readonly upstreamRqRetryLimitExceeded: Counter;
  readonly upstreamRqRxReset: Counter;
  readonly upstreamRqTxReset: Counter;
  readonly upstreamRqTime: Histogram;
  readonly upstreamCxTotal: Counter;
  readonly upstreamCxActive: Gauge;
  readonly upstreamCxConnectFail: Counter;
  readonly upstreamCxOverflow: Counter;
  readonly upstreamCxConnectTimeout: Counter;
  readonly upstreamCxDestroy: Counter;
  readonly upstreamCxNone: Counter;
  readonly upstreamCxMaxRequests: Counter;
  /** Reads from an upstream connection paused (the downstream is not taking bytes) and resumed. */
  readonly upstreamFlowControlPausedReading: Counter;
  readonly upstreamFlowControlResumedReading: Counter;
  readonly upstreamCxIdleTimeout: Counter;
  readonly upstreamCxMaxDurationReached: Counter;
  readonly retryOrShadowAbandoned: Counter;
  readonly upstreamRqMaxDurationReached: Counter;
  readonly upstreamRqPendingFailureEject: Counter;
  readonly upstreamRqCancelled: Counter;
  readonly upstreamCxHttp1Total: Counter;
  readonly upstreamCxHttp2Total: Counter;
  /** Connections the upstream announced it closes (HTTP/2 GOAWAY). */
  readonly upstreamCxCloseNotify: Counter;
  /** The HTTP/2 codec's cluster.<name>.http2.rx_reset / tx_reset. */
  readonly http2RxReset: Counter;
  readonly http2TxReset: Counter;
  readonly upstreamCxRxBytesTotal: Counter;
  readonly upstreamCxTxBytesTotal: Counter;
  readonly membershipTotal: Gauge;
  readonly membershipHealthy: Gauge;
  readonly membershipDegraded: Gauge;
  readonly membershipChange: Counter;
  readonly updateNoRebuild: Counter;
  readonly lbHealthyPanic: Counter;
  readonly upstreamRqClass: Counter[]; // index 1..5 -> upstream_rq_1xx..5xx
  private readonly store: Store;
  private readonly prefix: string;
  private readonly byCode = new Map<number, Counter>();

  constructor(store: Store, statName: string) {
    this.store = store;
    this.prefix = `cluster.${statName}.`;
    const counters = store.counters(this.prefix, COUNTERS);
    const gauges = store.gauges(this.prefix, GAUGES);
    const c = (n: string) => counters[COUNTER_SLOT.get(n)!];
    const g = (n: string) => gauges[GAUGE_SLOT.get(n)!];
    this.upstreamRqTotal = c('upstream_rq_total');
    this.upstreamRqCompleted = c('upstream_rq_completed');
    this.upstreamRqActive = g('upstream_rq_active');
    this.upstreamRqPendingOverflow = c('upstream_rq_pending_overflow');
    this.upstreamRqPendingTotal = c('upstream_rq_pending_total');
    this.upstreamRqPendingActive = g('upstream_rq_pending_active');
    this.upstreamRqTimeout = c('upstream_rq_timeout');
    this.upstreamRqPerTryTimeout = c('upstream_rq_per_try_timeout');
    this.upstreamRqRetry = c('upstream_rq_retry');
    this.upstreamRqRetrySuccess = c('upstream_rq_retry_success');
    this.upstreamRqRetryOverflow = c('upstream_rq_retry_overflow');
    this.upstreamRqRetryLimitExceeded = c('upstream_rq_retry_limit_exceeded');
    this.upstreamRqRxReset = c('upstream_rq_rx_reset');
    this.upstreamRqTxReset = c('upstream_rq_tx_reset');
    this.upstreamRqTime = store.histogram(this.prefix + 'upstream_rq_time');
    this.upstreamCxTotal = c('upstream_cx_total');
    this.upstreamCxActive = g('upstream_cx_active');
    this.upstreamCxConnectFail = c('upstream_cx_connect_fail');
    this.upstreamCxOverflow = c('upstream_cx_overflow');
    this.upstreamCxConnectTimeout = c('upstream_cx_connect_timeout');
    this.upstreamCxDestroy = c('upstream_cx_destroy');
    this.upstreamCxNone = c('upstream_cx_none_healthy');
    this.upstreamCxMaxRequests = c('upstream_cx_max_requests');
    this.upstreamFlowControlPausedReading = c('upstream_flow_control_paused_reading_total');
    this.upstreamFlowControlResumedReading = c('upstream_flow_control_resumed_reading_total');
    this.upstreamCxIdleTimeout = c('upstream_cx_idle_timeout');
    this.upstreamCxMaxDurationReached = c('upstream_cx_max_duration_reached');
    this.retryOrShadowAbandoned = c('retry_or_shadow_abandoned');
    this.upstreamRqMaxDurationReached = c('upstream_rq_max_duration_reached');
    this.upstreamRqPendingFailureEject = c('upstream_rq_pending_failure_eject');
    this.upstreamRqCancelled = c('upstream_rq_cancelled');
    this.upstreamCxHttp1Total = c('upstream_cx_http1_total');
    this.upstreamCxHttp2Total = c('upstream_cx_http2_total');
    this.upstreamCxCloseNotify = c('upstream_cx_close_notify');
    this.http2RxReset = c('http2.rx_reset');
    this.http2TxReset = c('http2.tx_reset');
    this.upstreamCxRxBytesTotal = c('upstream_cx_rx_bytes_total');
    this.upstreamCxTxBytesTotal = c('upstream_cx_tx_bytes_total');
    this.membershipTotal = g('membership_total');
    this.membershipHealthy = g('membership_healthy');
    this.membershipDegraded = g('membership_degraded');
    this.membershipChange = c('membership_change');
    this.updateNoRebuild = c('update_no_rebuild');
    this.lbHealthyPanic = c('lb_healthy_panic');
    this.upstreamRqClass = [0, 1, 2, 3, 4, 5].map((k) => c(`upstream_rq_${k}xx`));
  }

  /** Counts a completed upstream response: upstream_rq_<code>, upstream_rq_<class>xx. */
  recordResponse(status: number): void {
    let counter = this.byCode.get(status);
    if (counter === undefined) {
      counter = this.store.counter(`${this.prefix}upstream_rq_${status}`);
      this.byCode.set(status, counter);
    }
    counter.inc();
    const cls = (status / 100) | 0;
    if (cls >= 1 && cls <= 5) this.upstreamRqClass[cls].inc();
    this.upstreamRqCompleted.inc();
  }
}
