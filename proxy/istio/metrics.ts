// Istio's metrics in the stats store: each is named in Envoy's custom stat namespace istiocustom
// (so Prometheus shows istio_requests_total, without envoy_) and carries its labels as explicit
// tags. The filter config's overrides drop a metric or remove labels. One per filter config.
import type { IstioStatsConfig } from '../config/model.ts';
import { taggedStatName, type Counter, type Histogram, type Store } from '../stats/index.ts';
import { or, type Label } from './labels.ts';

const NAMESPACE = 'istiocustom.';

export class IstioMetrics {
  private readonly store: Store;
  private readonly dropped: ReadonlySet<string>;
  private readonly removed: ReadonlyMap<string, ReadonlySet<string>>; // metric ('' = all) -> labels
  private readonly counters = new Map<string, Counter>();
  private readonly histograms = new Map<string, Histogram>();

  constructor(store: Store, config: IstioStatsConfig, istioVersion: string) {
    this.store = store;
    this.dropped = new Set(config.metrics.filter((m) => m.drop).map((m) => m.name));
    const removed = new Map<string, Set<string>>();
    for (const m of config.metrics) for (const label of m.tagsToRemove) removed.set(m.name, (removed.get(m.name) ?? new Set()).add(label));
    this.removed = removed;
    // istio_build: the proxy's Istio version, once per process as Istio's filters publish it.
    store.gauge(taggedStatName(`${NAMESPACE}istio_build`, [{ name: 'component', value: 'proxy' }, { name: 'tag', value: or(istioVersion, 'unknown') }]), 'never').set(1);
  }

  count(metric: string, labels: Label[], amount = 1): void {
    const name = this.name(metric, labels);
    if (name === undefined || amount <= 0) return;
    let counter = this.counters.get(name);
    if (counter === undefined) this.counters.set(name, (counter = this.store.counter(name)));
    counter.inc(amount);
  }

  record(metric: string, labels: Label[], value: number, unit: 'ms' | 'bytes'): void {
    const name = this.name(metric, labels);
    if (name === undefined) return;
    let histogram = this.histograms.get(name);
    if (histogram === undefined) this.histograms.set(name, (histogram = this.store.histogram(name, unit)));
    histogram.record(value);
  }

  private name(metric: string, labels: Label[]): string | undefined {
    if (this.dropped.has(metric) || this.dropped.has('')) return undefined;
    const all = this.removed.get('');
    const one = this.removed.get(metric);
    const kept = all === undefined && one === undefined ? labels : labels.filter((l) => !(all?.has(l.name) || one?.has(l.name)));
    return taggedStatName(`${NAMESPACE}istio_${metric}`, kept);
  }
}
