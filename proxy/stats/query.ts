// The admin's stat selection, shared by every output format: the bootstrap's stats_matcher,
// ?filter=REGEX (searched anywhere in the full name, as Envoy's regex_search) and ?usedonly.
import type { MergedStats } from './merge.ts';
import type { StatsSettings } from './settings.ts';

export interface StatsQuery {
  filter?: RegExp;
  usedOnly?: boolean;
  settings?: StatsSettings; // the bootstrap's stats_config
}

export function selector(stats: MergedStats, query: StatsQuery = {}): (name: string) => boolean {
  const { filter, usedOnly = false, settings } = query;
  return (name) => {
    if (settings !== undefined && !settings.accepts(name)) return false;
    if (usedOnly && !stats.isUsed(name)) return false;
    if (filter === undefined) return true;
    filter.lastIndex = 0; // a /g or /y regex would otherwise carry state between names
    return filter.test(name);
  };
}
