// envoy.config.metrics.v3.StatsConfig (bootstrap stats_config): how stats are tagged for
// Prometheus (stats_tags, use_all_default_tags), which exist (stats_matcher) and the histogram
// buckets (histogram_bucket_settings). Istio's bootstraps set all four.
import { TagProducer, type TagSpecifier } from '../../stats/tags.ts';
import { indexPath, joinPath } from '../errors.ts';
import type { StringMatcher } from '../model.ts';
import { bool, list, obj, reject, str, stringMatcher, type Raw } from './common.ts';

export interface StatsConfig {
  tags: TagSpecifier[];
  useAllDefaultTags: boolean;
  matcher?: { rejectAll: true } | { inclusion: StringMatcher[] } | { exclusion: StringMatcher[] };
  histogramBuckets: { match: StringMatcher; buckets: number[] }[];
}

export function translateStatsConfig(raw: Raw | undefined, path: string): StatsConfig | undefined {
  if (raw === undefined) return undefined;
  const tags = list(raw, 'stats_tags').map((spec, i): TagSpecifier => {
    const at = indexPath(joinPath(path, 'stats_tags'), i);
    const name = str(spec, 'tag_name');
    if (name === '') reject(joinPath(at, 'tag_name'), 'required field is missing', 'name the tag (the Prometheus label)');
    if (spec.fixed_value !== undefined) return { name, fixedValue: str(spec, 'fixed_value') };
    return spec.regex !== undefined ? { name, regex: str(spec, 'regex') } : { name };
  });
  const useAllDefaultTags = bool(raw, 'use_all_default_tags', true);
  try {
    new TagProducer(tags, useAllDefaultTags); // a regex that does not compile, a default that does not exist
  } catch (err) {
    reject(joinPath(path, 'stats_tags'), (err as Error).message, 'give the tag a regex with two captures: the part removed from the name, and the value');
  }
  const config: StatsConfig = { tags, useAllDefaultTags, histogramBuckets: [] };
  const matcher = obj(raw, 'stats_matcher');
  if (matcher !== undefined) {
    const at = joinPath(path, 'stats_matcher');
    const patterns = (field: string) => list(obj(matcher, field) ?? {}, 'patterns').map((p, i) => stringMatcher(p, indexPath(joinPath(at, `${field}.patterns`), i)));
    if (bool(matcher, 'reject_all', false)) config.matcher = { rejectAll: true };
    else if (matcher.inclusion_list !== undefined) config.matcher = { inclusion: patterns('inclusion_list') };
    else if (matcher.exclusion_list !== undefined) config.matcher = { exclusion: patterns('exclusion_list') };
  }
  config.histogramBuckets = list(raw, 'histogram_bucket_settings').map((setting, i) => {
    const at = indexPath(joinPath(path, 'histogram_bucket_settings'), i);
    const buckets = (Array.isArray(setting.buckets) ? setting.buckets : []).map(Number);
    if (buckets.length === 0 || buckets.some((b, j) => !Number.isFinite(b) || b <= 0 || (j > 0 && b <= buckets[j - 1]))) {
      reject(joinPath(at, 'buckets'), 'buckets must be positive and strictly increasing', 'list the upper bounds in increasing order');
    }
    return { match: stringMatcher(obj(setting, 'match') ?? {}, joinPath(at, 'match')), buckets };
  });
  return config;
}
