// Stats sinks: statsd and DogStatsD over UDP and Envoy's gRPC MetricsService, flushed by the
// primary; statsd timers sent by the process that records them.
import type { Histogram } from '../histogram.ts';
import type { Store } from '../store.ts';
import type { StatsSettings } from '../settings.ts';
import type { StatsdSinkConfig, StatsSink } from './sink.ts';
import { UdpStatsdSink } from './statsd.ts';
import { udpWriter } from './udp-writer.ts';

export type { MetricsServiceSinkConfig, StatsSink, StatsSinkConfig, StatsSinksConfig, StatsdSinkConfig } from './sink.ts';
export type { MetricSnapshot } from './metric-snapshot.ts';
export { StatsFlusher, type StatsFlusherOptions } from './flusher.ts';
export { UdpStatsdSink } from './statsd.ts';
export { MetricsServiceSink, type MetricFamily, type MetricsStream } from './metrics-service.ts';

/** A statsd or DogStatsD sink writing from this process. */
export function createStatsdSink(config: StatsdSinkConfig, settings: StatsSettings): StatsSink {
  return new UdpStatsdSink(config, config.kind === 'dog_statsd' ? settings.tags : null, udpWriter(config.address));
}

/**
 * Every value a histogram of this store records goes to the sinks as it is recorded (Envoy's
 * onHistogramComplete); a histogram the stats_matcher rejects goes nowhere and costs nothing.
 */
export function sendHistogramsTo(store: Store, sinks: readonly StatsSink[], settings: StatsSettings): void {
  if (sinks.length === 0) return;
  const toAll = sinks.length === 1
    ? (h: Histogram, v: number) => sinks[0].onHistogramComplete(h, v)
    : (h: Histogram, v: number) => {
        for (const sink of sinks) sink.onHistogramComplete(h, v);
      };
  store.observeHistograms((h) => (settings.accepts(h.name) ? toAll : null));
}
