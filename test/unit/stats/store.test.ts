import t from 'tap';
import { Store } from '../../../proxy/stats/index.ts';
import { BUCKET_UPPER } from '../../../proxy/stats/histogram.ts';

t.test('get-or-create by full Envoy name returns the same object', async (t) => {
  const store = new Store();
  const a = store.counter('cluster.backend.upstream_rq_total');
  a.inc();
  a.inc(4);
  t.equal(store.counter('cluster.backend.upstream_rq_total'), a);
  t.equal(a.value, 5);
  t.same(store.snapshot().counters, { 'cluster.backend.upstream_rq_total': 5 });
});

t.test('scopes prefix names, with or without the trailing dot', async (t) => {
  const store = new Store();
  store.scope('cluster.foo.').counter('upstream_rq_total').inc();
  store.scope('cluster.foo').counter('upstream_rq_total').inc();
  store.scope('http').scope('ingress_http').gauge('downstream_rq_active').set(3);
  store.scope('cluster.foo.').histogram('upstream_rq_time', 'ms').record(7);
  const snap = store.snapshot();
  t.same(Object.keys(snap.counters), ['cluster.foo.upstream_rq_total']);
  t.equal(snap.counters['cluster.foo.upstream_rq_total'], 2);
  t.equal(snap.gauges['http.ingress_http.downstream_rq_active'], 3);
  t.equal(store.histogram('cluster.foo.upstream_rq_time').unit, 'ms');
});

t.test('gauges set, add and sub', async (t) => {
  const g = new Store().gauge('listener.0.0.0.0_10000.downstream_cx_active');
  g.add(3);
  g.sub(1);
  t.equal(g.value, 2);
  g.set(10);
  t.equal(g.value, 10);
  t.equal(g.importMode, 'accumulate');
});

t.test('the used flag is set by any write, as Envoy does', async (t) => {
  const store = new Store();
  const c = store.counter('a.c');
  const g = store.gauge('a.g');
  store.counter('a.untouched');
  store.gauge('a.untouched_gauge');
  t.equal(c.used, false);
  c.inc(0);
  g.set(0);
  t.equal(c.used, true);
  t.equal(g.used, true);
  t.same(store.snapshot().unused.sort(), ['a.untouched', 'a.untouched_gauge']);
});

t.test('histograms count values, clamp bad ones and rebuild their data only when changed', async (t) => {
  const h = new Store().histogram('cluster.x.upstream_rq_time', 'ms');
  t.equal(h.count, 0);
  t.equal(h.data(), null, 'nothing recorded is null');
  h.record(3);
  h.record(-5);
  h.record(Number.NaN);
  h.record(2.9);
  h.record(1e15);
  t.equal(h.count, 5);
  const first = h.data()!;
  t.equal(first.count, 5);
  t.equal(first.sum, 3 + 2.9 + 1e13, 'negative and NaN count as 0, huge values as the largest bucket edge');
  t.same(first.buckets, [0, 2, 289, 1, 290, 1, 1440, 1], 'index, count pairs, ascending');
  t.equal(h.data(), first, 'unchanged histograms reuse their data');
  h.record(4);
  t.not(h.data(), first);
});

t.test('the snapshot is plain data that survives structuredClone', async (t) => {
  const store = new Store();
  store.counter('cluster.b.upstream_rq_200').inc(2);
  store.gauge('server.live', 'never').set(1);
  store.histogram('cluster.b.upstream_rq_time').record(12);
  store.histogram('cluster.b.upstream_cx_length_ms');
  const snap = store.snapshot();
  const copy = structuredClone(snap);
  t.same(copy, snap);
  t.same(JSON.parse(JSON.stringify(snap)), copy, 'JSON IPC carries it too');
  t.same(copy.neverImport, ['server.live']);
  t.equal(copy.histograms['cluster.b.upstream_cx_length_ms'], null);
  t.same(copy.histograms['cluster.b.upstream_rq_time'], { count: 1, sum: 12, buckets: [BUCKET_UPPER.indexOf(12), 1] });
});

t.test('a group of stats under one prefix is the same stats as by full name', async (t) => {
  const store = new Store();
  const early = store.counter('cluster.a.b.upstream_rq_total'); // made by name before the group
  early.inc(2);
  const names = ['upstream_rq_total', 'http2.rx_reset'];
  const [total, reset] = store.counters('cluster.a.b.', names);
  t.equal(total, early);
  t.equal(store.counter('cluster.a.b.http2.rx_reset'), reset);
  t.equal(store.counters('cluster.a.b.', names)[1], reset);
  t.not(store.counter('cluster.a.upstream_rq_total'), total, 'another prefix is another stat');
  const [active] = store.gauges('cluster.a.b.', ['upstream_cx_active']);
  active.set(4);
  t.equal(store.gauge('cluster.a.b.upstream_cx_active'), active);
  const snap = store.snapshot();
  t.same(snap.counters, { 'cluster.a.upstream_rq_total': 0, 'cluster.a.b.upstream_rq_total': 2, 'cluster.a.b.http2.rx_reset': 0 });
  t.same(snap.gauges, { 'cluster.a.b.upstream_cx_active': 4 });
  t.same(snap.unused.sort(), ['cluster.a.b.http2.rx_reset', 'cluster.a.upstream_rq_total']);
  const [attempt] = store.counters('cluster.a.b.', ['update_attempt']); // another list, same prefix
  t.equal(store.counter('cluster.a.b.update_attempt'), attempt);
  t.equal(store.counter('cluster.a.b.upstream_rq_total'), total);
});
