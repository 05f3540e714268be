// Envoy's MetricSnapshot: what one flush hands every sink. Counters are latched (the change since
// the previous flush, beside the value); gauges are read as they stand; histograms, when a sink
// wants them, cover the interval since the previous flush (Envoy's intervalStatistics). Only used
// stats are in it, and only those the stats_matcher accepts, since Envoy never creates a rejected
// stat.
import { MergedHistogram, type MergedStats } from '../merge.ts';
import type { HistogramData } from '../histogram.ts';
import type { StatsSettings } from '../settings.ts';

export interface MetricSnapshot {
  /** When the snapshot was taken (ms since the epoch). */
  time: number;
  counters: { name: string; value: number; delta: number }[];
  gauges: { name: string; value: number }[];
  /** Every histogram that ever recorded a value, with what it recorded since the previous flush. */
  histograms: { name: string; interval: MergedHistogram }[];
}

export class MetricLatch {
  readonly #counters = new Map<string, number>();
  readonly #histograms = new Map<string, HistogramData>();

  /**
   * The snapshot of one flush. A counter that went down (a replaced worker took its counts with it)
   * reports no change and latches the lower value, so the next delta counts only new events; a
   * histogram bucket likewise.
   */
  take(stats: MergedStats, settings: StatsSettings, withHistograms: boolean): MetricSnapshot {
    const counters: MetricSnapshot['counters'] = [];
    const gauges: MetricSnapshot['gauges'] = [];
    const histograms: MetricSnapshot['histograms'] = [];
    for (const [name, value] of stats.counters) {
      if (!settings.accepts(name) || !stats.isUsed(name)) continue;
      const delta = value - (this.#counters.get(name) ?? 0);
      this.#counters.set(name, value);
      counters.push({ name, value, delta: delta > 0 ? delta : 0 });
    }
    for (const [name, value] of stats.gauges) {
      if (settings.accepts(name) && stats.isUsed(name)) gauges.push({ name, value });
    }
    if (withHistograms) {
      for (const [name, merged] of stats.histograms) {
        if (merged.count === 0 || !settings.accepts(name)) continue;
        const now = merged.data();
        const interval = new MergedHistogram();
        interval.add(difference(now, this.#histograms.get(name)));
        this.#histograms.set(name, now);
        histograms.push({ name, interval });
      }
    }
    return { time: Date.now(), counters, gauges, histograms };
  }
}

/** What `now` holds beyond `before`, bucket by bucket (both sparse and ascending). */
function difference(now: HistogramData, before: HistogramData | undefined): HistogramData {
  if (before === undefined) return now;
  const buckets: number[] = [];
  let count = 0;
  const b = before.buckets;
  let j = 0;
  for (let i = 0; i + 1 < now.buckets.length; i += 2) {
    const index = now.buckets[i];
    while (j + 1 < b.length && b[j] < index) j += 2;
    const extra = now.buckets[i + 1] - (j + 1 < b.length && b[j] === index ? b[j + 1] : 0);
    if (extra > 0) {
      buckets.push(index, extra);
      count += extra;
    }
  }
  return { count, sum: count === 0 ? 0 : Math.max(0, now.sum - before.sum), buckets };
}
