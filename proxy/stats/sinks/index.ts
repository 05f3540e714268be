// Stats sinks: statsd and DogStatsD over UDP, flushed by the primary, timers sent by the workers.
import type { Histogram } from '../histogram.ts';
import type { Store } from '../store.ts';
import type { StatsSettings } from '../settings.ts';
import type { StatsSink, StatsSinkConfig } from './sink.ts';
import { UdpStatsdSink } from './statsd.ts';
import { udpWriter } from './udp-writer.ts';

export type { StatsSink, StatsSinkConfig, StatsSinksConfig, StatsdSinkConfig } from './sink.ts';
export type { MetricSnapshot } from './metric-snapshot.ts';
export { StatsFlusher, type StatsFlusherOptions } from './flusher.ts';
export { UdpStatsdSink } from './statsd.ts';

/** One sink of the bootstrap's stats_sinks, writing from this process. */
export function createStatsSink(config: StatsSinkConfig, settings: StatsSettings): StatsSink {
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
