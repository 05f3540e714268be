import t from 'tap';
import { Store, mergeSnapshots } from '../../../proxy/stats/index.ts';

function worker(values: number[], requests: number): Store {
  const s = new Store();
  s.counter('cluster.backend.upstream_rq_total').inc(requests);
  s.gauge('cluster.backend.upstream_cx_active').set(requests);
  s.gauge('cluster.backend.membership_total', 'never').set(3 + requests);
  const h = s.histogram('cluster.backend.upstream_rq_time', 'ms');
  for (const v of values) h.record(v);
  return s;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

t.test('two workers merge: counters and gauges sum, never-import gauges take the max', async (t) => {
  const a = worker(range(1, 50), 2);
  const b = worker(range(51, 100), 5);
  const merged = mergeSnapshots([structuredClone(a.snapshot()), structuredClone(b.snapshot())]);
  t.equal(merged.counters.get('cluster.backend.upstream_rq_total'), 7);
  t.equal(merged.gauges.get('cluster.backend.upstream_cx_active'), 7);
  t.equal(merged.gauges.get('cluster.backend.membership_total'), 8);
});

t.test('histogram quantiles come from the merged data', async (t) => {
  const a = worker(range(1, 50), 1);
  const b = worker(range(51, 100), 1);
  const h = mergeSnapshots([a.snapshot(), b.snapshot()]).histograms.get('cluster.backend.upstream_rq_time')!;
  t.equal(h.count, 100);
  t.equal(h.sum, 5050);
  t.same(h.quantiles(), [1, 25, 50, 75, 90, 95, 99, 100, 100, 100]);
  t.same(h.quantiles([0.5]), [50]);
  // Each worker alone would say 25 and 75.
  t.same(mergeSnapshots([a.snapshot()]).histograms.get('cluster.backend.upstream_rq_time')!.quantiles([0.5]), [25]);
});

t.test('large values keep two significant digits', async (t) => {
  const s = new Store();
  s.histogram('h').record(60_000);
  const [p100] = mergeSnapshots([s.snapshot()]).histograms.get('h')!.quantiles([1]);
  t.ok(Math.abs(p100 - 60_000) / 60_000 < 0.01, `${p100} within 1% of 60000`);
});

t.test('cumulative bucket counts', async (t) => {
  const s = new Store();
  for (const v of [0, 1, 1, 5, 7, 300, 5000]) s.histogram('h').record(v);
  const h = mergeSnapshots([s.snapshot()]).histograms.get('h')!;
  t.same(h.cumulativeCounts([0.5, 1, 5, 10, 250, 1000, 10000]), [1, 3, 4, 5, 5, 6, 7]);
});

t.test('a histogram empty everywhere has NaN quantiles and no count', async (t) => {
  const s = new Store();
  s.histogram('h');
  const merged = mergeSnapshots([s.snapshot(), s.snapshot()]);
  const h = merged.histograms.get('h')!;
  t.equal(h.count, 0);
  t.equal(h.sum, 0);
  t.ok(h.quantiles().every(Number.isNaN));
  t.same(h.cumulativeCounts([1, 2]), [0, 0]);
  t.equal(merged.isUsed('h'), false);
});

t.test('a stat is used when any process wrote it', async (t) => {
  const a = new Store();
  const b = new Store();
  a.counter('c');
  b.counter('c').inc();
  a.gauge('g');
  b.gauge('g');
  a.histogram('h').record(1);
  b.histogram('h');
  const merged = mergeSnapshots([a.snapshot(), b.snapshot()]);
  t.equal(merged.isUsed('c'), true);
  t.equal(merged.isUsed('g'), false);
  t.equal(merged.isUsed('h'), true);
  t.equal(merged.histograms.get('h')!.count, 1);
});

t.test('no snapshots, no stats', async (t) => {
  const merged = mergeSnapshots([]);
  t.equal(merged.counters.size + merged.gauges.size + merged.histograms.size, 0);
});
