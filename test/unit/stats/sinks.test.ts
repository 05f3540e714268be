// The stats sinks' own logic, below the sockets (test/integration/stats/ drives them end to end):
// counter latching, interval histograms, statsd lines and Envoy's datagram packing.
import t from 'tap';
import { DEFAULT_STATS_SETTINGS, Store, mergeSnapshots, statsSettings, TagProducer } from '../../../proxy/stats/index.ts';
import { MetricLatch } from '../../../proxy/stats/sinks/metric-snapshot.ts';
import { UdpStatsdSink } from '../../../proxy/stats/sinks/statsd.ts';
import { sendHistogramsTo } from '../../../proxy/stats/sinks/index.ts';

function writer() {
  const datagrams: string[] = [];
  return { datagrams, write: (d: string) => void datagrams.push(d), close: () => undefined };
}

t.test('counters latch to deltas; unused stats and rejected stats are left out', async (t) => {
  const store = new Store();
  store.counter('cluster.a.upstream_rq_total').inc(3);
  store.counter('cluster.a.never_written');
  store.counter('cluster.a.hidden').inc();
  const settings = statsSettings({ tags: new TagProducer(), matcher: { exclusion: [(n) => n.endsWith('.hidden')] }, buckets: [] });
  const latch = new MetricLatch();
  t.same(latch.take(mergeSnapshots([store.snapshot()]), settings, false).counters, [{ name: 'cluster.a.upstream_rq_total', value: 3, delta: 3 }]);
  store.counter('cluster.a.upstream_rq_total').inc(2);
  t.same(latch.take(mergeSnapshots([store.snapshot()]), settings, false).counters, [{ name: 'cluster.a.upstream_rq_total', value: 5, delta: 2 }]);
  // A worker gone: the merged count drops; no negative delta, and the next delta counts from there.
  t.same(latch.take(mergeSnapshots([new Store().snapshot()]), settings, false).counters, []);
});

t.test('histograms cover the interval since the previous flush', async (t) => {
  const store = new Store();
  const h = store.histogram('cluster.a.upstream_rq_time', 'ms');
  [1, 2, 3].forEach((v) => h.record(v));
  const latch = new MetricLatch();
  const first = latch.take(mergeSnapshots([store.snapshot()]), DEFAULT_STATS_SETTINGS, true).histograms[0].interval;
  t.equal(first.count, 3);
  h.record(100);
  const second = latch.take(mergeSnapshots([store.snapshot()]), DEFAULT_STATS_SETTINGS, true).histograms[0].interval;
  t.equal(second.count, 1);
  t.equal(second.sum, 100);
  t.same(second.quantiles([0, 1]), [100, 100]);
  const third = latch.take(mergeSnapshots([store.snapshot()]), DEFAULT_STATS_SETTINGS, true).histograms[0].interval;
  t.equal(third.count, 0, 'an idle interval is empty, and still sent');
});

t.test('statsd lines, DogStatsD tags and datagram packing', async (t) => {
  const plain = writer();
  const statsd = new UdpStatsdSink({ kind: 'statsd', address: { address: '127.0.0.1', port: 1 }, prefix: 'envoy', maxBytesPerDatagram: 0 }, null, plain);
  const snapshot = { time: 0, counters: [{ name: 'cluster.a.upstream_rq_total', value: 4, delta: 2 }], gauges: [{ name: 'cluster.a.membership_healthy', value: 1 }], histograms: [] };
  statsd.flush(snapshot);
  t.same(plain.datagrams, ['envoy.cluster.a.upstream_rq_total:2|c', 'envoy.cluster.a.membership_healthy:1|g']);

  const dog = writer();
  const max = 'p.cluster.upstream_rq_total:2|c|#envoy.cluster_name:a'.length + 1;
  const tagged = new UdpStatsdSink({ kind: 'dog_statsd', address: { address: '127.0.0.1', port: 1 }, prefix: 'p', maxBytesPerDatagram: max * 2 }, new TagProducer(), dog);
  tagged.flush({ ...snapshot, counters: [snapshot.counters[0], snapshot.counters[0], snapshot.counters[0]] });
  t.same(dog.datagrams, [
    'p.cluster.upstream_rq_total:2|c|#envoy.cluster_name:a\np.cluster.upstream_rq_total:2|c|#envoy.cluster_name:a',
    'p.cluster.upstream_rq_total:2|c|#envoy.cluster_name:a\np.cluster.membership_healthy:1|g|#envoy.cluster_name:a',
  ]);
  t.ok(dog.datagrams.every((d) => d.length <= max * 2));
});

t.test('histogram values go out as recorded, as whole numbers; rejected histograms cost nothing', async (t) => {
  const out = writer();
  const sink = new UdpStatsdSink({ kind: 'statsd', address: { address: '127.0.0.1', port: 1 }, prefix: 'envoy', maxBytesPerDatagram: 0 }, null, out);
  const store = new Store();
  const early = store.histogram('cluster.a.upstream_rq_time', 'ms');
  sendHistogramsTo(store, [sink], statsSettings({ tags: new TagProducer(), matcher: { exclusion: [(n) => n.includes('hidden')] }, buckets: [] }));
  early.record(12.7);
  store.histogram('http.x.downstream_rq_time', 'ms').record(3);
  const hidden = store.histogram('cluster.hidden.upstream_rq_time', 'ms');
  hidden.record(5);
  t.same(out.datagrams, ['envoy.cluster.a.upstream_rq_time:12|ms', 'envoy.http.x.downstream_rq_time:3|ms']);
  t.equal(hidden.onRecord, null);
});
