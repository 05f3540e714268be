// Envoy's /stats (text): counters and gauges together sorted by name as `name: value`, then the
// histograms sorted by name with their quantile summary.
import type { MergedHistogram, MergedStats } from './merge.ts';
import { selector, type StatsQuery } from './query.ts';
import { displayStatName } from './tagged-name.ts';

/** Envoy's quantile labels: P0 .. P100 (printed with {:g}, so 99.5 not 99.49999). */
const QUANTILE_LABELS = ['P0', 'P25', 'P50', 'P75', 'P90', 'P95', 'P99', 'P99.5', 'P99.9', 'P100'];

export function renderStatsText(stats: MergedStats, query?: StatsQuery): string {
  const show = selector(stats, query);
  const values: Array<[string, number]> = [];
  for (const [name, value] of stats.counters) if (show(name)) values.push([name, value]);
  for (const [name, value] of stats.gauges) if (show(name)) values.push([name, value]);
  values.sort((a, b) => compare(a[0], b[0]));
  let out = '';
  for (const [name, value] of values) out += `${displayStatName(name)}: ${value}\n`;
  const names = [...stats.histograms.keys()].filter(show).sort(compare);
  for (const name of names) out += `${displayStatName(name)}: ${quantileSummary(stats.histograms.get(name)!)}\n`;
  return out;
}

/**
 * Envoy's ParentHistogram::quantileSummary: P<q>(interval,cumulative) per supported quantile.
 * Legate keeps cumulative data only, so the interval slot is always nan, as Envoy prints it for an
 * interval without samples.
 */
export function quantileSummary(h: MergedHistogram): string {
  if (h.count === 0) return 'No recorded values';
  return h
    .quantiles()
    .map((v, i) => `${QUANTILE_LABELS[i]}(nan,${formatDouble(v)})`)
    .join(' ');
}

/** A double as fmt's {} prints it (nan for NaN). */
export function formatDouble(v: number): string {
  return Number.isNaN(v) ? 'nan' : String(v);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
