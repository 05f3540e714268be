// Envoy's MetricsService sink (envoy.stat_sinks.metrics_service): every flush becomes one
// StreamMetricsMessage of Prometheus MetricFamily objects, one family per stat, each metric stamped
// with the snapshot's time: counters (the value, or the delta with report_counters_as_deltas),
// gauges, and each histogram over the interval since the previous flush as a summary (Envoy's
// quantiles) and/or a histogram (the stat's buckets, cumulative counts). The gRPC stream itself is
// the primary's (MetricsStream): this file only shapes the messages.
import { SUPPORTED_QUANTILES, type MergedHistogram } from '../merge.ts';
import type { Histogram } from '../histogram.ts';
import type { StatsSettings } from '../settings.ts';
import { displayStatName } from '../tagged-name.ts';
import type { MetricSnapshot } from './metric-snapshot.ts';
import type { MetricsServiceSinkConfig, StatsSink } from './sink.ts';

/** io.prometheus.client.MetricFamily, in protobufjs's object form (snake_case fields). */
export interface MetricFamily {
  name: string;
  type: 'COUNTER' | 'GAUGE' | 'SUMMARY' | 'HISTOGRAM';
  metric: Record<string, unknown>[];
}

/** The primary's client stream to the metrics service. */
export interface MetricsStream {
  send(families: MetricFamily[]): void;
  close(): void;
}

export class MetricsServiceSink implements StatsSink {
  readonly wantsHistograms: boolean;
  readonly #config: MetricsServiceSinkConfig;
  readonly #settings: StatsSettings;
  readonly #stream: MetricsStream;

  constructor(config: MetricsServiceSinkConfig, settings: StatsSettings, stream: MetricsStream) {
    this.#config = config;
    this.#settings = settings;
    this.#stream = stream;
    this.wantsHistograms = config.emitSummary || config.emitHistogram;
  }

  flush(snapshot: MetricSnapshot): void {
    const families: MetricFamily[] = [];
    const family = (statName: string, type: MetricFamily['type'], value: Record<string, unknown>) => {
      const metric: Record<string, unknown> = { ...value, timestamp_ms: snapshot.time };
      let name = displayStatName(statName);
      if (this.#config.emitTagsAsLabels) {
        const tagged = this.#settings.tags.extract(statName);
        name = tagged.extracted;
        metric.label = tagged.tags.map((t) => ({ name: t.name, value: t.value }));
      }
      families.push({ name, type, metric: [metric] });
    };
    for (const c of snapshot.counters) family(c.name, 'COUNTER', { counter: { value: this.#config.reportCountersAsDeltas ? c.delta : c.value } });
    for (const g of snapshot.gauges) family(g.name, 'GAUGE', { gauge: { value: g.value } });
    for (const h of snapshot.histograms) {
      if (this.#config.emitSummary) family(h.name, 'SUMMARY', { summary: summary(h.interval) });
      if (this.#config.emitHistogram) family(h.name, 'HISTOGRAM', { histogram: histogram(h.interval, this.#settings.buckets(h.name)) });
    }
    this.#stream.send(families);
  }

  onHistogramComplete(_histogram: Histogram, _value: number): void {
    // Histograms go out per flush, over the interval.
  }

  close(): void {
    this.#stream.close();
  }
}

function summary(h: MergedHistogram): Record<string, unknown> {
  const values = h.quantiles(SUPPORTED_QUANTILES);
  return { sample_count: h.count, sample_sum: h.sum, quantile: SUPPORTED_QUANTILES.map((quantile, i) => ({ quantile, value: values[i] })) };
}

function histogram(h: MergedHistogram, bounds: readonly number[]): Record<string, unknown> {
  const counts = h.cumulativeCounts(bounds);
  return { sample_count: h.count, sample_sum: h.sum, bucket: bounds.map((upper_bound, i) => ({ upper_bound, cumulative_count: counts[i] })) };
}
