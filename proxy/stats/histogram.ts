// A worker-side histogram: a fixed array of log-linear buckets, two significant decimal digits, as
// Envoy's circllhist keeps them. Memory is fixed (allocated on the first record, never grown), so
// a histogram costs the same after ten samples or ten billion, and bucket counts add exactly when
// the primary merges the workers.
//
// Layout. Bucket 0 holds [0, 0.001]. Above it, each decade (10^k, 10^(k+1)] for k = -3..12 has 90
// buckets of width 10^(k-1): (1.0, 1.1], (1.1, 1.2], ... (9.9, 10]; (10, 11] ... (99, 100]; and so
// on. Buckets are closed above, so a value on the grid (any number with two significant digits:
// 1, 25, 0.5, 60000, and all of Envoy's default Prometheus bounds) is the upper edge of its
// bucket: `le` bucket counts are exact and quantiles of such values are the values themselves.
// Elsewhere a quantile is the bucket's upper edge: at most 10 % above the true value at the bottom
// of a decade, 1 % at the top. Values above 10^13 count in the last bucket; negative and NaN ones
// as 0. The sum is kept exactly beside the buckets (Prometheus `_sum`).

/** Envoy's Histogram::Unit, kept as metadata (sinks such as statsd distinguish timers). */
export type HistogramUnit = 'ms' | 'bytes' | 'unspecified';

const LOWEST_DECADE = -3; // the first decade above bucket 0 is (0.001, 0.01]
const DECADES = 16; // ... the last (10^12, 10^13]
const PER_DECADE = 90;
export const BUCKET_COUNT = 1 + DECADES * PER_DECADE;

// 10^n computed as a literal would be: exact for n >= 0, and n < 0 as 1 / 10^-n rounds to the
// nearest double like the decimal literal does. Edges use the same rule, so 0.3 is the literal 0.3.
function decimal(mantissa: number, exponent: number): number {
  return exponent >= 0 ? mantissa * 10 ** exponent : mantissa / 10 ** -exponent;
}

/** UPPER[i]: the largest value bucket i holds; bucket i > 0 is (UPPER[i - 1], UPPER[i]]. */
export const BUCKET_UPPER: Float64Array = (() => {
  const upper = new Float64Array(BUCKET_COUNT);
  upper[0] = decimal(1, LOWEST_DECADE);
  for (let d = 0; d < DECADES; d++) {
    // Decade (10^k, 10^(k+1)] in steps of 10^(k-1): mantissas 11..100.
    const k = LOWEST_DECADE + d;
    for (let j = 0; j < PER_DECADE; j++) upper[1 + d * PER_DECADE + j] = decimal(11 + j, k - 1);
  }
  return upper;
})();

const MAX_VALUE = BUCKET_UPPER[BUCKET_COUNT - 1];
// The top of each decade, and 1 / its bucket width, for the index guess.
const DECADE_TOP = Float64Array.from({ length: DECADES }, (_, d) => decimal(1, LOWEST_DECADE + d + 1));
const INVERSE_WIDTH = Float64Array.from({ length: DECADES }, (_, d) => 1 / decimal(1, LOWEST_DECADE + d - 1));

/** The index of the bucket that holds v (v >= 0, not NaN). */
export function bucketIndex(v: number): number {
  if (v <= BUCKET_UPPER[0]) return 0;
  if (v >= MAX_VALUE) return BUCKET_COUNT - 1;
  let d = 0;
  while (v > DECADE_TOP[d]) d++;
  // v * (1 / width) may be one ulp off for a value on an edge: the exact edges correct the guess.
  let i = 1 + d * PER_DECADE + Math.ceil(v * INVERSE_WIDTH[d]) - 11;
  if (i < 1) i = 1;
  else if (i >= BUCKET_COUNT) i = BUCKET_COUNT - 1;
  while (BUCKET_UPPER[i - 1] >= v) i--;
  while (BUCKET_UPPER[i] < v) i++;
  return i;
}

/**
 * A histogram as plain data (structured-clone and JSON safe) for the primary: the exact count and
 * sum, and the non-empty buckets as [index, count, index, count, ...] in ascending index order.
 */
export interface HistogramData {
  count: number;
  sum: number;
  buckets: number[];
}

export class Histogram {
  readonly name: string;
  readonly unit: HistogramUnit;
  // Float64: counts stay exact to 2^53, where 32 bits would wrap on a busy, long-lived proxy.
  #counts: Float64Array | undefined;
  #count = 0;
  #sum = 0;
  #data: HistogramData | null = null;
  #dirty = false;
  /** Set by a stats sink that takes every value as it is recorded (statsd timers), else null. */
  onRecord: ((histogram: Histogram, value: number) => void) | null = null;

  constructor(name: string, unit: HistogramUnit) {
    this.name = name;
    this.unit = unit;
  }

  record(value: number): void {
    // Created on first record, so the histograms of idle clusters cost nothing.
    const counts = (this.#counts ??= new Float64Array(BUCKET_COUNT));
    const v = value >= 0 ? (value <= MAX_VALUE ? value : MAX_VALUE) : 0; // NaN fails both tests: 0
    counts[bucketIndex(v)]++;
    this.#count++;
    this.#sum += v;
    this.#dirty = true;
    if (this.onRecord !== null) this.onRecord(this, v);
  }

  /** Number of values recorded so far. */
  get count(): number {
    return this.#count;
  }

  /** The recorded values as plain data; null while nothing was recorded. Rebuilt only when changed. */
  data(): HistogramData | null {
    const counts = this.#counts;
    if (this.#dirty && counts !== undefined) {
      const buckets: number[] = [];
      for (let i = 0; i < BUCKET_COUNT; i++) if (counts[i] > 0) buckets.push(i, counts[i]);
      this.#data = { count: this.#count, sum: this.#sum, buckets };
      this.#dirty = false;
    }
    return this.#data;
  }
}
