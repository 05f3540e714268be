// What a bootstrap's stats_config changes in the admin's output: the tags Prometheus gets
// (stats_tags, use_all_default_tags), which stats exist at all (stats_matcher: a rejected stat is in
// no output, as Envoy never creates it) and the Prometheus buckets of each histogram
// (histogram_bucket_settings). Built once per bootstrap by the primary.
import { DEFAULT_TAG_PRODUCER, type TagProducer } from './tags.ts';

/** Envoy's default histogram bucket upper bounds (ms for timers). */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export interface StatsSettings {
  readonly tags: TagProducer;
  /** False for a stat that stats_matcher rejects. */
  accepts(name: string): boolean;
  /** The bucket bounds of a histogram: the first matching histogram_bucket_settings, else Envoy's. */
  buckets(name: string): readonly number[];
}

export const DEFAULT_STATS_SETTINGS: StatsSettings = { tags: DEFAULT_TAG_PRODUCER, accepts: () => true, buckets: () => DEFAULT_BUCKETS };

type Predicate = (name: string) => boolean;

export interface StatsSettingsInput {
  tags: TagProducer;
  // inclusion_list: a stat is kept when one matches; exclusion_list: dropped when one matches.
  matcher?: { rejectAll: true } | { inclusion: Predicate[] } | { exclusion: Predicate[] };
  buckets: { match: Predicate; buckets: readonly number[] }[];
}

export function statsSettings(input: StatsSettingsInput): StatsSettings {
  const m = input.matcher;
  const decide: Predicate =
    m === undefined ? () => true
    : 'rejectAll' in m ? () => false
    : 'inclusion' in m ? (name) => m.inclusion.some((p) => p(name))
    : (name) => !m.exclusion.some((p) => p(name));
  const decided = new Map<string, boolean>(); // stat names are few and stable
  return {
    tags: input.tags,
    accepts(name) {
      let ok = decided.get(name);
      if (ok === undefined) decided.set(name, (ok = decide(name)));
      return ok;
    },
    buckets: (name) => input.buckets.find((b) => b.match(name))?.buckets ?? DEFAULT_BUCKETS,
  };
}
