// The connection manager's stats under Envoy's names (http.<stat_prefix>.*), resolved once per
// connection manager so the per-request path only increments.
import type { Counter, Gauge, Histogram, Store } from '../stats/index.ts';

export class HcmStats {
  readonly downstreamCxTotal: Counter;
  readonly downstreamCxActive: Gauge;
  readonly downstreamCxHttp1Total: Counter;
  readonly downstreamCxHttp1Active: Gauge;
  readonly downstreamCxHttp2Total: Counter;
  readonly downstreamCxHttp2Active: Gauge;
  readonly downstreamCxDestroyRemoteActiveRq: Counter;
  readonly downstreamCxProtocolError: Counter;
  readonly downstreamCxMaxDurationReached: Counter;
  readonly downstreamCxMaxRequestsReached: Counter;
  readonly downstreamCxRxBytesTotal: Counter;
  readonly downstreamCxTxBytesTotal: Counter;
  readonly downstreamRqTotal: Counter;
  readonly downstreamRqHttp1Total: Counter;
  readonly downstreamRqHttp2Total: Counter;
  readonly downstreamRqActive: Gauge;
  readonly downstreamRqCompleted: Counter;
  readonly downstreamRqRxReset: Counter;
  readonly downstreamRqTxReset: Counter;
  readonly downstreamRqTimeout: Counter;
  readonly downstreamRqHeaderTimeout: Counter;
  readonly downstreamRqIdleTimeout: Counter;
  readonly downstreamRqMaxDurationReached: Counter;
  readonly downstreamRqWsOnNonWsRoute: Counter;
  readonly downstreamRqFailedPathNormalization: Counter;
  readonly downstreamRqRedirectedWithNormalizedPath: Counter;
  readonly downstreamCxUpgradesTotal: Counter;
  readonly downstreamCxUpgradesActive: Gauge;
  readonly downstreamFlowControlPausedReading: Counter;
  readonly downstreamFlowControlResumedReading: Counter;
  readonly downstreamRqTime: Histogram;
  readonly downstreamRqClass: Counter[]; // 1..5 -> downstream_rq_1xx..5xx
  readonly noRoute: Counter;
  readonly noCluster: Counter;
  readonly rqDirectResponse: Counter;
  readonly rqRedirect: Counter;
  readonly rqTotal: Counter;

  constructor(store: Store, statPrefix: string) {
    const p = `http.${statPrefix}.`;
    const c = (n: string) => store.counter(p + n);
    const g = (n: string) => store.gauge(p + n);
    this.downstreamCxTotal = c('downstream_cx_total');
    this.downstreamCxActive = g('downstream_cx_active');
    this.downstreamCxHttp1Total = c('downstream_cx_http1_total');
    this.downstreamCxHttp1Active = g('downstream_cx_http1_active');
    this.downstreamCxHttp2Total = c('downstream_cx_http2_total');
    this.downstreamCxHttp2Active = g('downstream_cx_http2_active');
    this.downstreamCxDestroyRemoteActiveRq = c('downstream_cx_destroy_remote_active_rq');
    this.downstreamCxProtocolError = c('downstream_cx_protocol_error');
    this.downstreamCxMaxDurationReached = c('downstream_cx_max_duration_reached');
    this.downstreamCxMaxRequestsReached = c('downstream_cx_max_requests_reached');
    this.downstreamCxRxBytesTotal = c('downstream_cx_rx_bytes_total');
    this.downstreamCxTxBytesTotal = c('downstream_cx_tx_bytes_total');
    this.downstreamRqTotal = c('downstream_rq_total');
    this.downstreamRqHttp1Total = c('downstream_rq_http1_total');
    this.downstreamRqHttp2Total = c('downstream_rq_http2_total');
    this.downstreamRqActive = g('downstream_rq_active');
    this.downstreamRqCompleted = c('downstream_rq_completed');
    this.downstreamRqRxReset = c('downstream_rq_rx_reset');
    this.downstreamRqTxReset = c('downstream_rq_tx_reset');
    this.downstreamRqTimeout = c('downstream_rq_timeout');
    this.downstreamRqHeaderTimeout = c('downstream_rq_header_timeout');
    this.downstreamRqIdleTimeout = c('downstream_rq_idle_timeout');
    this.downstreamRqMaxDurationReached = c('downstream_rq_max_duration_reached');
    this.downstreamRqWsOnNonWsRoute = c('downstream_rq_ws_on_non_ws_route');
    this.downstreamRqFailedPathNormalization = c('downstream_rq_failed_path_normalization');
    this.downstreamRqRedirectedWithNormalizedPath = c('downstream_rq_redirected_with_normalized_path');
    this.downstreamCxUpgradesTotal = c('downstream_cx_upgrades_total');
    this.downstreamCxUpgradesActive = g('downstream_cx_upgrades_active');
    this.downstreamFlowControlPausedReading = c('downstream_flow_control_paused_reading_total');
    this.downstreamFlowControlResumedReading = c('downstream_flow_control_resumed_reading_total');
    this.downstreamRqTime = store.histogram(p + 'downstream_rq_time');
    this.downstreamRqClass = [0, 1, 2, 3, 4, 5].map((k) => c(`downstream_rq_${k}xx`));
    this.noRoute = c('no_route');
    this.noCluster = c('no_cluster');
    this.rqDirectResponse = c('rq_direct_response');
    this.rqRedirect = c('rq_redirect');
    this.rqTotal = c('rq_total');
  }
}
