// The admin's stat selection, shared by every output format: ?filter=REGEX (searched anywhere in
// the full name, as Envoy's regex_search) and ?usedonly.
import type { MergedStats } from './merge.ts';

export interface StatsQuery {
  filter?: RegExp;
  usedOnly?: boolean;
}

export function selector(stats: MergedStats, query: StatsQuery = {}): (name: string) => boolean {
  const { filter, usedOnly = false } = query;
  return (name) => {
    if (usedOnly && !stats.isUsed(name)) return false;
    if (filter === undefined) return true;
    filter.lastIndex = 0; // a /g or /y regex would otherwise carry state between names
    return filter.test(name);
  };
}
