import t from 'tap';
import { BUCKET_COUNT, BUCKET_UPPER, Histogram, bucketIndex } from '../../../proxy/stats/histogram.ts';
import { MergedHistogram, SUPPORTED_QUANTILES } from '../../../proxy/stats/merge.ts';
import { DEFAULT_BUCKETS } from '../../../proxy/stats/settings.ts';

// A deterministic spread of values over many decades (no Math.random: a failure must repeat).
function values(n: number, seed = 1): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(10 ** ((x / 2 ** 31) * 9 - 2)); // 0.01 .. 1e7
  }
  return out;
}

t.test('edges ascend and every value lands in the bucket whose range holds it', async (t) => {
  for (let i = 1; i < BUCKET_COUNT; i++) if (!(BUCKET_UPPER[i] > BUCKET_UPPER[i - 1])) t.fail(`edge ${i} not ascending`);
  let wrong = 0;
  for (const v of [...values(20_000), 0, 0.001, 0.0010001, 1e13, 9.99e12]) {
    const i = bucketIndex(v);
    if (!(v <= BUCKET_UPPER[i] && (i === 0 || v > BUCKET_UPPER[i - 1]))) wrong++;
  }
  t.equal(wrong, 0);
});

t.test('numbers with two significant digits are bucket edges, exactly', async (t) => {
  let missing = 0;
  for (let e = -3; e <= 12; e++) {
    for (let m = 10; m <= 99; m++) {
      const v = Number(`${m}e${e - 1}`); // the decimal literal, e.g. 0.3, 25, 60000
      if (v <= 0.001) continue;
      if (BUCKET_UPPER[bucketIndex(v)] !== v) missing++;
    }
  }
  t.equal(missing, 0);
  for (const bound of DEFAULT_BUCKETS) t.equal(BUCKET_UPPER[bucketIndex(bound)], bound, `Prometheus bound ${bound}`);
});

t.test('a quantile is at most one bucket (10 %) above the exact one, never below', async (t) => {
  const data = values(5000);
  const h = new Histogram('h', 'ms');
  for (const v of data) h.record(v);
  const merged = new MergedHistogram();
  merged.add(h.data()!);
  const sorted = [...data].sort((a, b) => a - b);
  const got = merged.quantiles(SUPPORTED_QUANTILES);
  SUPPORTED_QUANTILES.forEach((q, i) => {
    const exact = sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
    t.ok(got[i] >= exact && got[i] <= exact * 1.1, `q${q}: ${got[i]} for ${exact}`);
  });
});

t.test('merging workers is exact: the same as one histogram with every value', async (t) => {
  const data = values(3000, 7);
  const parts = [new Histogram('h', 'ms'), new Histogram('h', 'ms'), new Histogram('h', 'ms')];
  const all = new Histogram('h', 'ms');
  data.forEach((v, i) => {
    parts[i % 3].record(v);
    all.record(v);
  });
  const merged = new MergedHistogram();
  for (const p of parts) merged.add(structuredClone(p.data()!));
  const single = new MergedHistogram();
  single.add(all.data()!);
  t.equal(merged.count, 3000);
  t.same(merged.quantiles(), single.quantiles());
  t.same(merged.cumulativeCounts(DEFAULT_BUCKETS), single.cumulativeCounts(DEFAULT_BUCKETS));
  t.ok(Math.abs(merged.sum - data.reduce((a, b) => a + b, 0)) < 1e-6 * merged.sum, 'the sum is the values\' sum');
});

t.test('Prometheus bucket counts are exact at the bounds', async (t) => {
  const h = new Histogram('h', 'ms');
  for (const v of [0.5, 0.50001, 1, 4.99, 5, 5.01, 25, 30000, 30001]) h.record(v);
  const merged = new MergedHistogram();
  merged.add(h.data()!);
  t.same(merged.cumulativeCounts([0.5, 1, 5, 25, 30000, 60000]), [1, 3, 5, 7, 8, 9]);
  t.same(merged.cumulativeCounts([0.505]), [1], 'a bound off the grid counts only whole buckets below it');
});

t.test('memory is fixed: the data never has more than one entry per bucket', async (t) => {
  const h = new Histogram('h', 'ms');
  for (let i = 0; i < 200_000; i++) h.record(i * 1.37);
  const data = h.data()!;
  t.equal(data.count, 200_000);
  t.ok(data.buckets.length <= 2 * BUCKET_COUNT);
  t.equal(data.buckets.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0), 200_000);
});
