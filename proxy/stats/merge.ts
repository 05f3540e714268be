// The primary's view of all processes: the latest cumulative snapshot of each worker (and its own)
// merged into one set of stats, as Envoy's single store would hold them.
import type { StatsSnapshot } from './store.ts';
import { BUCKET_COUNT, BUCKET_UPPER, type HistogramData } from './histogram.ts';

/** Envoy's supported quantiles, in the order the admin prints them. */
export const SUPPORTED_QUANTILES: readonly number[] = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];

/** One histogram's buckets added over every process. */
export class MergedHistogram {
  // Undefined while nothing was recorded anywhere.
  #counts: Float64Array | undefined;
  #count = 0;
  #sum = 0;

  /** Adds one process's histogram. */
  add(data: HistogramData): void {
    if (data.count === 0) return;
    const counts = (this.#counts ??= new Float64Array(BUCKET_COUNT));
    const buckets = data.buckets;
    for (let i = 0; i + 1 < buckets.length; i += 2) counts[buckets[i]] += buckets[i + 1];
    this.#count += data.count;
    this.#sum += data.sum;
  }

  get count(): number {
    return this.#count;
  }

  /** The merged buckets as plain data (the non-empty ones as index/count pairs, ascending). */
  data(): HistogramData {
    const buckets: number[] = [];
    const counts = this.#counts;
    if (counts !== undefined) for (let i = 0; i < BUCKET_COUNT; i++) if (counts[i] > 0) buckets.push(i, counts[i]);
    return { count: this.#count, sum: this.#sum, buckets };
  }

  /** Sum of the recorded values (exact: kept beside the buckets). */
  get sum(): number {
    return this.#sum;
  }

  /**
   * Envoy's computed quantiles (q in 0..1); NaN when nothing was recorded, as Envoy's nan. The
   * value at quantile q is the upper edge of the bucket holding the ceil(q * count)-th smallest
   * value (the first value for q = 0), so a quantile never reads lower than the data.
   */
  quantiles(qs: readonly number[] = SUPPORTED_QUANTILES): number[] {
    const counts = this.#counts;
    if (counts === undefined) return qs.map(() => NaN);
    return qs.map((q) => {
      const rank = Math.max(1, Math.ceil(q * this.#count));
      let seen = 0;
      for (let i = 0; i < BUCKET_COUNT; i++) {
        seen += counts[i];
        if (seen >= rank) return i === 0 ? 0 : BUCKET_UPPER[i];
      }
      return BUCKET_UPPER[BUCKET_COUNT - 1];
    });
  }

  /**
   * Cumulative counts of values <= each upper bound (ascending), as Prometheus buckets want. Exact
   * for bounds with two significant digits (Envoy's defaults): they are bucket edges.
   */
  cumulativeCounts(upperBounds: readonly number[]): number[] {
    const out = new Array<number>(upperBounds.length).fill(0);
    const counts = this.#counts;
    if (counts === undefined) return out;
    let seen = 0;
    let b = 0;
    for (let i = 0; i < BUCKET_COUNT && b < upperBounds.length; i++) {
      // Every value of bucket i is <= BUCKET_UPPER[i]: bounds below that edge are complete.
      while (b < upperBounds.length && upperBounds[b] < BUCKET_UPPER[i]) out[b++] = seen;
      seen += counts[i];
    }
    while (b < upperBounds.length) out[b++] = seen;
    return out;
  }
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
  const histograms = new Map<string, MergedHistogram>();
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
      let merged = histograms.get(name);
      if (merged === undefined) histograms.set(name, (merged = new MergedHistogram()));
      const data = snap.histograms[name];
      if (data !== null) merged.add(data);
    }
  }
  return new MergedStats(counters, gauges, histograms, used);
}
