import t from 'tap';
import { Store, mergeSnapshots, renderStatsJson } from '../../../proxy/stats/index.ts';

t.test("Envoy's JSON shape: sorted stats, then one histograms entry", async (t) => {
  const s = new Store();
  s.counter('cluster.b.upstream_rq_total').inc(2);
  s.gauge('cluster.b.upstream_cx_active').set(1);
  for (const v of [10, 20]) s.histogram('cluster.b.upstream_rq_time').record(v);
  s.histogram('cluster.a.upstream_rq_time');
  const out = JSON.parse(renderStatsJson(mergeSnapshots([s.snapshot()])));
  t.same(out.stats.slice(0, 2), [
    { name: 'cluster.b.upstream_cx_active', value: 1 },
    { name: 'cluster.b.upstream_rq_total', value: 2 },
  ]);
  const h = out.stats[2].histograms;
  t.same(h.supported_quantiles, [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
  t.same(h.computed_quantiles.map((q: { name: string }) => q.name), ['cluster.a.upstream_rq_time', 'cluster.b.upstream_rq_time']);
  t.ok(h.computed_quantiles[0].values.every((v: object) => JSON.stringify(v) === '{"cumulative":null,"interval":null}'));
  t.same(h.computed_quantiles[1].values[0], { cumulative: 10, interval: null });
  t.same(h.computed_quantiles[1].values[9], { cumulative: 20, interval: null });
  t.equal(out.stats.length, 3);
});

t.test('no histograms entry when none is shown', async (t) => {
  const s = new Store();
  s.counter('a').inc();
  s.histogram('h');
  t.equal(renderStatsJson(mergeSnapshots([s.snapshot()]), { usedOnly: true }), '{"stats":[{"name":"a","value":1}]}');
  t.equal(renderStatsJson(mergeSnapshots([])), '{"stats":[]}');
});
