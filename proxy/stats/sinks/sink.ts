// Envoy's Stats::Sink: what the primary flushes every stats_flush_interval (the merged counters and
// gauges of all processes, counters as deltas, histograms over the interval), and what takes each
// histogram value as a worker records it.
import type { Histogram } from '../histogram.ts';
import type { MetricSnapshot } from './metric-snapshot.ts';

/** envoy.stat_sinks.statsd and envoy.stat_sinks.dog_statsd (both UDP), as the translator leaves them. */
export interface StatsdSinkConfig {
  kind: 'statsd' | 'dog_statsd';
  /** The collector's IP address and UDP port. */
  address: { address: string; port: number };
  /** Before every name, followed by a dot ("envoy" unless set). */
  prefix: string;
  /** Lines per datagram up to this many bytes; 0: one line per datagram (Envoy's default). */
  maxBytesPerDatagram: number;
}

/** envoy.stat_sinks.metrics_service: Envoy's MetricsService, a gRPC client stream. */
export interface MetricsServiceSinkConfig {
  kind: 'metrics_service';
  /** grpc_service, as config's GrpcServiceRef (stats imports nothing of config). */
  grpcService: { clusterName?: string; authority?: string; targetUri?: string; timeoutMs: number; initialMetadata: { key: string; value: string }[] };
  reportCountersAsDeltas: boolean;
  /** Tag-extracted names with the tags as labels, instead of full names. */
  emitTagsAsLabels: boolean;
  /** histogram_emit_mode: SUMMARY_AND_HISTOGRAM (both), SUMMARY or HISTOGRAM. */
  emitSummary: boolean;
  emitHistogram: boolean;
}

export type StatsSinkConfig = StatsdSinkConfig | MetricsServiceSinkConfig;

/** The bootstrap's stats_sinks and when they are flushed. */
export interface StatsSinksConfig {
  sinks: StatsSinkConfig[];
  /** stats_flush_interval (Envoy's default 5 s); unused with flushOnAdmin. */
  flushIntervalMs: number;
  /** stats_flush_on_admin: flush when the admin's /stats is read, never on a timer. */
  flushOnAdmin: boolean;
}

export interface StatsSink {
  /** Does flush() read the snapshot's interval histograms (computing them costs a little)? */
  readonly wantsHistograms: boolean;
  /** One flush: counters as the change since the previous flush, gauges as they stand. */
  flush(snapshot: MetricSnapshot): void;
  /** One histogram value, as it is recorded (in the process that records it). */
  onHistogramComplete(histogram: Histogram, value: number): void;
  close(): void;
}
