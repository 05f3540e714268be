// Stats: Envoy-named counters, gauges and histograms per process, merged by the primary and
// rendered in Envoy's admin formats.
export { Counter, Gauge, type GaugeImportMode } from './metrics.ts';
export { Histogram, type HistogramData, type HistogramUnit } from './histogram.ts';
export { Store, Scope, type StatsSnapshot } from './store.ts';
export { mergeSnapshots, MergedStats, MergedHistogram, SUPPORTED_QUANTILES } from './merge.ts';
export type { StatsQuery } from './query.ts';
export { renderStatsText, quantileSummary } from './text.ts';
export { renderStatsJson } from './json.ts';
export { renderPrometheus, DEFAULT_BUCKETS } from './prometheus.ts';
export { extractTags, type Tag, type TaggedName } from './tags.ts';
