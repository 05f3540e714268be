// Envoy's /stats?format=json: {"stats":[{"name","value"}..., {"histograms":{...}}]} with the
// counters and gauges sorted by name and one trailing entry holding every histogram's quantiles.
import type { MergedStats } from './merge.ts';
import { SUPPORTED_QUANTILES } from './merge.ts';
import { selector, type StatsQuery } from './query.ts';
import { displayStatName } from './tagged-name.ts';

// Envoy prints the supported quantiles as percentages (absl's %g: 99.5, not 99.49999).
const SUPPORTED_PERCENTILES = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];

export function renderStatsJson(stats: MergedStats, query?: StatsQuery): string {
  const show = selector(stats, query);
  const entries: Array<{ name: string; value: number }> = [];
  for (const [name, value] of stats.counters) if (show(name)) entries.push({ name: displayStatName(name), value });
  for (const [name, value] of stats.gauges) if (show(name)) entries.push({ name: displayStatName(name), value });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: unknown[] = entries;
  const names = [...stats.histograms.keys()].filter(show).sort();
  if (names.length > 0) {
    const computed = names.map((name) => ({
      name: displayStatName(name),
      // Legate keeps cumulative data only: the interval is null, as Envoy's NaN.
      values: stats.histograms
        .get(name)!
        .quantiles(SUPPORTED_QUANTILES)
        .map((v) => ({ cumulative: Number.isNaN(v) ? null : v, interval: null })),
    }));
    out.push({ histograms: { supported_quantiles: SUPPORTED_PERCENTILES, computed_quantiles: computed } });
  }
  return JSON.stringify({ stats: out });
}
