// The primary's view of all processes: the latest cumulative snapshot of each worker (and its own)
// merged into one set of stats, as Envoy's single store would hold them.
import hdr from 'hdr-histogram-js';
import type { Histogram as HdrHistogram } from 'hdr-histogram-js';
import type { StatsSnapshot } from './store.ts';
import { HDR_SIGNIFICANT_DIGITS } from './histogram.ts';

/** Envoy's supported quantiles, in the order the admin prints them. */
export const SUPPORTED_QUANTILES: readonly number[] = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];

export class MergedHistogram {
  // Undefined while nothing was recorded anywhere.
  readonly #hdr: HdrHistogram | undefined;

  constructor(h: HdrHistogram | undefined) {
    this.#hdr = h;
  }

  get count(): number {
    return this.#hdr === undefined ? 0 : this.#hdr.totalCount;
  }

  /** Sum of the recorded values, each taken as the middle of its bucket (exact below 256). */
  get sum(): number {
    let sum = 0;
    this.#forEachBucket((value, count, h) => {
      sum += h.medianEquivalentValue(value) * count;
    });
    return sum;
  }

  /** Envoy's computed quantiles (q in 0..1); NaN when nothing was recorded, as Envoy's nan. */
  quantiles(qs: readonly number[] = SUPPORTED_QUANTILES): number[] {
    const h = this.#hdr;
    return qs.map((q) => (h === undefined ? NaN : h.getValueAtPercentile(q * 100)));
  }

  /** Cumulative counts of values <= each upper bound (ascending), as Prometheus buckets want. */
  cumulativeCounts(upperBounds: readonly number[]): number[] {
    const counts = new Array<number>(upperBounds.length).fill(0);
    this.#forEachBucket((value, count) => {
      // Buckets arrive in ascending order of value; a bound at or above it counts it.
      for (let i = upperBounds.length - 1; i >= 0 && upperBounds[i] >= value; i--) counts[i] += count;
    });
    return counts;
  }

  /** Calls fn(lowest value of the bucket, count) for every non-empty bucket, ascending. */
  #forEachBucket(fn: (value: number, count: number, h: JsBuckets) => void): void {
    const h = this.#hdr as (HdrHistogram & JsBuckets) | undefined;
    if (h === undefined) return;
    for (let i = 0; i < h.countsArrayLength; i++) {
      const count = h.getCountAtIndex(i);
      if (count > 0) fn(h.valueFromIndex(i), count, h);
    }
  }
}

// The JS histograms the decoder returns expose their buckets (not part of the Histogram interface).
interface JsBuckets {
  countsArrayLength: number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
  medianEquivalentValue(value: number): number;
}

export class MergedStats {
  readonly counters: ReadonlyMap<string, number>;
  readonly gauges: ReadonlyMap<string, number>;
  readonly histograms: ReadonlyMap<string, MergedHistogram>;
  readonly #used: ReadonlySet<string>;

  constructor(
    counters: ReadonlyMap<string, number>,
    gauges: ReadonlyMap<string, number>,
    histograms: ReadonlyMap<string, MergedHistogram>,
    used: ReadonlySet<string>,
  ) {
    this.counters = counters;
    this.gauges = gauges;
    this.histograms = histograms;
    this.#used = used;
  }

  /** Envoy's used(): a counter or gauge written in any process, a histogram with a value. */
  isUsed(name: string): boolean {
    if (this.#used.has(name)) return true;
    const h = this.histograms.get(name);
    return h !== undefined && h.count > 0;
  }
}

/** Counters and 'accumulate' gauges are summed, 'never' gauges take the maximum, histograms add. */
export function mergeSnapshots(list: readonly StatsSnapshot[]): MergedStats {
  const counters = new Map<string, number>();
  const gauges = new Map<string, number>();
  const used = new Set<string>();
  const hists = new Map<string, HdrHistogram | undefined>();
  for (const snap of list) {
    const unused = new Set(snap.unused);
    const neverImport = new Set(snap.neverImport);
    for (const name of Object.keys(snap.counters)) {
      counters.set(name, (counters.get(name) ?? 0) + snap.counters[name]);
      if (!unused.has(name)) used.add(name);
    }
    for (const name of Object.keys(snap.gauges)) {
      const value = snap.gauges[name];
      const prev = gauges.get(name);
      gauges.set(name, prev === undefined ? value : neverImport.has(name) ? Math.max(prev, value) : prev + value);
      if (!unused.has(name)) used.add(name);
    }
    for (const name of Object.keys(snap.histograms)) {
      const encoded = snap.histograms[name];
      let acc = hists.get(name);
      if (encoded !== '') {
        acc ??= hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: HDR_SIGNIFICANT_DIGITS, autoResize: true });
        acc.add(hdr.decodeFromCompressedBase64(encoded, 64, false));
      }
      hists.set(name, acc);
    }
  }
  const histograms = new Map<string, MergedHistogram>();
  for (const [name, h] of hists) histograms.set(name, new MergedHistogram(h));
  return new MergedStats(counters, gauges, histograms, used);
}
