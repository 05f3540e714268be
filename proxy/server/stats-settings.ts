// The bootstrap's stats_config, compiled for the admin's stats output.
import type { StatsConfig } from '../config/index.ts';
import { compileStringMatcher } from '../router/match.ts';
import { DEFAULT_STATS_SETTINGS, statsSettings, TagProducer, type StatsSettings } from '../stats/index.ts';

export function compileStatsSettings(config: StatsConfig | undefined): StatsSettings {
  if (config === undefined) return DEFAULT_STATS_SETTINGS;
  const m = config.matcher;
  return statsSettings({
    tags: new TagProducer(config.tags, config.useAllDefaultTags),
    ...(m === undefined ? {}
      : 'rejectAll' in m ? { matcher: m }
      : 'inclusion' in m ? { matcher: { inclusion: m.inclusion.map(compileStringMatcher) } }
      : { matcher: { exclusion: m.exclusion.map(compileStringMatcher) } }),
    buckets: config.histogramBuckets.map((b) => ({ match: compileStringMatcher(b.match), buckets: b.buckets })),
  });
}
