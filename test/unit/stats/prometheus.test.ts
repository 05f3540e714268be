import t from 'tap';
import { DEFAULT_BUCKETS, Store, mergeSnapshots, renderPrometheus } from '../../../proxy/stats/index.ts';

t.test('counters and gauges with Envoy names, labels and TYPE lines', async (t) => {
  const s = new Store();
  s.counter('cluster.backend.upstream_rq_200').inc(5);
  s.counter('cluster.backend.upstream_rq_503').inc(1);
  s.counter('cluster.api.upstream_rq_200').inc(2);
  s.counter('http.ingress_http.downstream_rq_2xx').inc(7);
  s.counter('listener.0.0.0.0_10000.downstream_cx_total').inc(3);
  s.gauge('server.live').set(1);
  s.gauge('cluster.backend.upstream_cx_active').set(4);
  t.equal(
    renderPrometheus(mergeSnapshots([s.snapshot()])),
    [
      '# TYPE envoy_cluster_upstream_rq counter',
      'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="api"} 2',
      'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="backend"} 5',
      'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="backend"} 1',
      '# TYPE envoy_http_downstream_rq_xx counter',
      'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"} 7',
      '# TYPE envoy_listener_downstream_cx_total counter',
      'envoy_listener_downstream_cx_total{envoy_listener_address="0.0.0.0_10000"} 3',
      '# TYPE envoy_cluster_upstream_cx_active gauge',
      'envoy_cluster_upstream_cx_active{envoy_cluster_name="backend"} 4',
      '# TYPE envoy_server_live gauge',
      'envoy_server_live{} 1',
      '',
    ].join('\n'),
  );
});

t.test('histograms as Prometheus histograms with Envoy default buckets', async (t) => {
  const s = new Store();
  for (const v of [0, 1, 3, 40, 700, 4000000]) s.histogram('cluster.backend.upstream_rq_time', 'ms').record(v);
  s.histogram('server.initialization_time_ms').record(2);
  const out = renderPrometheus(mergeSnapshots([s.snapshot()]));
  const lines = out.split('\n');
  t.equal(lines[0], '# TYPE envoy_cluster_upstream_rq_time histogram');
  const buckets = lines.filter((l) => l.startsWith('envoy_cluster_upstream_rq_time_bucket'));
  t.equal(buckets.length, DEFAULT_BUCKETS.length + 1);
  t.equal(buckets[0], 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="0.5"} 1');
  t.equal(buckets[1], 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="1"} 2');
  t.equal(buckets[2], 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="5"} 3');
  t.equal(buckets[5], 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="50"} 4');
  t.equal(buckets[9], 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="1000"} 5');
  t.equal(buckets[18], 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="3600000"} 5');
  t.equal(buckets[19], 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="+Inf"} 6');
  t.match(out, /\nenvoy_cluster_upstream_rq_time_count\{envoy_cluster_name="backend"\} 6\n/);
  const sum = Number(/envoy_cluster_upstream_rq_time_sum\{envoy_cluster_name="backend"\} (\d+)/.exec(out)![1]);
  t.ok(Math.abs(sum - 4000744) / 4000744 < 0.01, `sum ${sum} close to 4000744`);
  // Without tags, Envoy writes the le label alone and empty braces for sum and count.
  t.match(out, /\nenvoy_server_initialization_time_ms_bucket\{le="0.5"\} 0\n/);
  t.match(out, /\nenvoy_server_initialization_time_ms_sum\{\} 2\nenvoy_server_initialization_time_ms_count\{\} 1\n/);
});

t.test('families sorted token by token; odd characters sanitised and escaped', async (t) => {
  const s = new Store();
  s.counter('cluster_manager.cds.update_success').inc();
  s.counter('cluster.a-b"c.upstream_cx_total').inc();
  s.counter('cluster.a.upstream_cx_total').inc();
  const out = renderPrometheus(mergeSnapshots([s.snapshot()]));
  t.equal(
    out,
    [
      '# TYPE envoy_cluster_upstream_cx_total counter',
      'envoy_cluster_upstream_cx_total{envoy_cluster_name="a"} 1',
      'envoy_cluster_upstream_cx_total{envoy_cluster_name="a-b\\"c"} 1',
      '# TYPE envoy_cluster_manager_cds_update_success counter',
      'envoy_cluster_manager_cds_update_success{} 1',
      '',
    ].join('\n'),
  );
});

t.test('?usedonly and ?filter apply to the full stat name', async (t) => {
  const s = new Store();
  s.counter('cluster.a.upstream_rq_200').inc();
  s.counter('cluster.a.upstream_rq_404');
  s.counter('cluster.b.upstream_rq_200').inc();
  const stats = mergeSnapshots([s.snapshot()]);
  t.equal(
    renderPrometheus(stats, { usedOnly: true, filter: /^cluster\.a\./ }),
    '# TYPE envoy_cluster_upstream_rq counter\nenvoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="a"} 1\n',
  );
});
