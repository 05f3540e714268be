import t from 'tap';
import { Store, mergeSnapshots, renderStatsText } from '../../../proxy/stats/index.ts';

function sample() {
  const s = new Store();
  s.counter('cluster.backend.upstream_rq_total').inc(3);
  s.counter('cluster.backend.upstream_rq_timeout');
  s.gauge('cluster.backend.upstream_cx_active').set(2);
  s.gauge('cluster.backend.upstream_cx_tx_bytes_buffered'); // never written
  s.counter('http.ingress_http.downstream_rq_2xx').inc();
  for (const v of [1, 2, 3, 4]) s.histogram('cluster.backend.upstream_rq_time', 'ms').record(v);
  s.histogram('http.ingress_http.downstream_rq_time', 'ms');
  return mergeSnapshots([s.snapshot()]);
}

t.test('counters and gauges sorted together by name, then histograms', async (t) => {
  t.equal(
    renderStatsText(sample()),
    [
      'cluster.backend.upstream_cx_active: 2',
      'cluster.backend.upstream_cx_tx_bytes_buffered: 0',
      'cluster.backend.upstream_rq_timeout: 0',
      'cluster.backend.upstream_rq_total: 3',
      'http.ingress_http.downstream_rq_2xx: 1',
      'cluster.backend.upstream_rq_time: P0(nan,1) P25(nan,1) P50(nan,2) P75(nan,3) P90(nan,4) P95(nan,4) P99(nan,4) P99.5(nan,4) P99.9(nan,4) P100(nan,4)',
      'http.ingress_http.downstream_rq_time: No recorded values',
      '',
    ].join('\n'),
  );
});

t.test('?usedonly hides stats never written and empty histograms', async (t) => {
  t.equal(
    renderStatsText(sample(), { usedOnly: true }),
    [
      'cluster.backend.upstream_cx_active: 2',
      'cluster.backend.upstream_rq_total: 3',
      'http.ingress_http.downstream_rq_2xx: 1',
      'cluster.backend.upstream_rq_time: P0(nan,1) P25(nan,1) P50(nan,2) P75(nan,3) P90(nan,4) P95(nan,4) P99(nan,4) P99.5(nan,4) P99.9(nan,4) P100(nan,4)',
      '',
    ].join('\n'),
  );
});

t.test('?filter searches the whole name; a global regex is safe to reuse', async (t) => {
  const stats = sample();
  t.equal(renderStatsText(stats, { filter: /rq_t/ }), 'cluster.backend.upstream_rq_timeout: 0\ncluster.backend.upstream_rq_total: 3\n' +
    'cluster.backend.upstream_rq_time: P0(nan,1) P25(nan,1) P50(nan,2) P75(nan,3) P90(nan,4) P95(nan,4) P99(nan,4) P99.5(nan,4) P99.9(nan,4) P100(nan,4)\n' +
    'http.ingress_http.downstream_rq_time: No recorded values\n');
  t.equal(renderStatsText(stats, { filter: /^http\./g, usedOnly: true }), 'http.ingress_http.downstream_rq_2xx: 1\n');
  t.equal(renderStatsText(stats, { filter: /nothing-matches/ }), '');
});
