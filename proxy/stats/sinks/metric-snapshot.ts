// Envoy's MetricSnapshot: what one flush hands every sink. Counters are latched (the change since
// the previous flush); gauges are read as they stand. Only used stats are in it, and only those the
// stats_matcher accepts, since Envoy never creates a rejected stat.
import type { MergedStats } from '../merge.ts';
import type { StatsSettings } from '../settings.ts';

export interface MetricSnapshot {
  counters: { name: string; delta: number }[];
  gauges: { name: string; value: number }[];
}

export class CounterLatch {
  readonly #latched = new Map<string, number>();

  /**
   * The snapshot of one flush. A counter that went down (a replaced worker took its counts with it)
   * reports no change and latches the lower value, so the next delta counts only new events.
   */
  take(stats: MergedStats, settings: StatsSettings): MetricSnapshot {
    const counters: MetricSnapshot['counters'] = [];
    const gauges: MetricSnapshot['gauges'] = [];
    for (const [name, value] of stats.counters) {
      if (!settings.accepts(name) || !stats.isUsed(name)) continue;
      const delta = value - (this.#latched.get(name) ?? 0);
      this.#latched.set(name, value);
      counters.push({ name, delta: delta > 0 ? delta : 0 });
    }
    for (const [name, value] of stats.gauges) {
      if (settings.accepts(name) && stats.isUsed(name)) gauges.push({ name, value });
    }
    return { counters, gauges };
  }
}
