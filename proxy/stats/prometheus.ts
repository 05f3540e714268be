// Envoy's /stats/prometheus text exposition: metric families named `envoy_` + the tag-extracted
// name with every character outside [a-zA-Z0-9_] turned into '_', labels from tag
// extraction (Envoy's defaults, or the bootstrap's stats_config), counters then gauges then histograms, families sorted by tag-extracted name and the
// series inside a family by full stat name (both compared token by token, as Envoy's symbol table
// does). Histograms use Envoy's default bucket bounds.
import type { MergedHistogram, MergedStats } from './merge.ts';
import { selector, type StatsQuery } from './query.ts';
import { DEFAULT_STATS_SETTINGS } from './settings.ts';
import { CUSTOM_STAT_NAMESPACES } from './tagged-name.ts';
import type { Tag, TagProducer } from './tags.ts';

export function renderPrometheus(stats: MergedStats, query?: StatsQuery): string {
  const show = selector(stats, query);
  const settings = query?.settings ?? DEFAULT_STATS_SETTINGS;
  let out = '';
  out += families(stats.counters, show, settings.tags, 'counter', (metric, labels, value) => `${metric}{${labels}} ${value}\n`);
  out += families(stats.gauges, show, settings.tags, 'gauge', (metric, labels, value) => `${metric}{${labels}} ${value}\n`);
  out += families(stats.histograms, show, settings.tags, 'histogram', (metric, labels, h, name) => histogramLines(metric, labels, h, settings.buckets(name)));
  return out;
}

function families<T>(
  metrics: ReadonlyMap<string, T>,
  show: (name: string) => boolean,
  tagProducer: TagProducer,
  type: string,
  lines: (metric: string, labels: string, value: T, name: string) => string,
): string {
  const groups = new Map<string, Array<{ name: string; tags: Tag[]; value: T }>>();
  for (const [name, value] of metrics) {
    if (!show(name)) continue;
    const { extracted, tags } = tagProducer.extract(name);
    let group = groups.get(extracted);
    if (group === undefined) groups.set(extracted, (group = []));
    group.push({ name, tags, value });
  }
  let out = '';
  for (const extracted of [...groups.keys()].sort(compareStatNames)) {
    const metric = metricName(extracted);
    out += `# TYPE ${metric} ${type}\n`;
    const group = groups.get(extracted)!.sort((a, b) => compareStatNames(a.name, b.name));
    for (const m of group) out += lines(metric, formatLabels(m.tags), m.value, m.name);
  }
  return out;
}

// envoy_ and the sanitized name, or the name alone past a custom stat namespace (istiocustom.istio_requests_total).
function metricName(extracted: string): string {
  for (const ns of CUSTOM_STAT_NAMESPACES) if (extracted.startsWith(ns + '.')) return sanitizeName(extracted.slice(ns.length + 1));
  return 'envoy_' + sanitizeName(extracted);
}

function histogramLines(metric: string, labels: string, h: MergedHistogram, buckets: readonly number[]): string {
  const prefix = labels === '' ? '' : labels + ',';
  const counts = h.cumulativeCounts(buckets);
  let out = '';
  for (let i = 0; i < buckets.length; i++) out += `${metric}_bucket{${prefix}le="${buckets[i]}"} ${counts[i]}\n`;
  const count = h.count;
  out += `${metric}_bucket{${prefix}le="+Inf"} ${count}\n`;
  out += `${metric}_sum{${labels}} ${h.sum}\n`;
  out += `${metric}_count{${labels}} ${count}\n`;
  return out;
}

function formatLabels(tags: readonly Tag[]): string {
  return tags.map((t) => `${sanitizeName(t.name)}="${sanitizeValue(t.value)}"`).join(',');
}

/** Prometheus names allow [a-zA-Z0-9_] only. */
export function sanitizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

// Label values escape backslash, newline and double quote, as the Prometheus text format requires.
function sanitizeValue(value: string): string {
  return value.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}

/** Envoy's symbol-table order: token by token, a name that is a prefix of another first. */
export function compareStatNames(a: string, b: string): number {
  const ta = a.split('.');
  const tb = b.split('.');
  const n = Math.min(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    if (ta[i] !== tb[i]) return ta[i] < tb[i] ? -1 : 1;
  }
  return ta.length - tb.length;
}
