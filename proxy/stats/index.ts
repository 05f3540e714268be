// Stats: Envoy-named counters, gauges and histograms per process, merged by the primary and
// rendered in Envoy's admin formats.
export { Counter, Gauge, type GaugeImportMode } from './metrics.ts';
export { Histogram, type HistogramData, type HistogramUnit } from './histogram.ts';
export { Store, Scope, type StatsSnapshot } from './store.ts';
export { mergeSnapshots, MergedStats, MergedHistogram, SUPPORTED_QUANTILES } from './merge.ts';
export type { StatsQuery } from './query.ts';
export { renderStatsText, quantileSummary } from './text.ts';
export { renderStatsJson } from './json.ts';
export { renderPrometheus } from './prometheus.ts';
export { DEFAULT_BUCKETS, DEFAULT_STATS_SETTINGS, statsSettings, type StatsSettings } from './settings.ts';
export { extractTags, posixToJs, TagProducer, type Tag, type TaggedName, type TagSpecifier } from './tags.ts';
export { taggedStatName, displayStatName } from './tagged-name.ts';
