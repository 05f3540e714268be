import t from 'tap';
import { extractTags } from '../../../proxy/stats/index.ts';

const cases: Array<[string, string, Array<[string, string]>]> = [
  ['cluster.backend.upstream_rq_200', 'cluster.upstream_rq', [['envoy.response_code', '200'], ['envoy.cluster_name', 'backend']]],
  ['cluster.backend.upstream_rq_5xx', 'cluster.upstream_rq_xx', [['envoy.response_code_class', '5'], ['envoy.cluster_name', 'backend']]],
  ['cluster.backend.upstream_rq_total', 'cluster.upstream_rq_total', [['envoy.cluster_name', 'backend']]],
  ['http.ingress_http.downstream_rq_2xx', 'http.downstream_rq_xx', [['envoy.response_code_class', '2'], ['envoy.http_conn_manager_prefix', 'ingress_http']]],
  ['listener.0.0.0.0_10000.downstream_cx_total', 'listener.downstream_cx_total', [['envoy.listener_address', '0.0.0.0_10000']]],
  ['listener.[__1]_443.downstream_cx_active', 'listener.downstream_cx_active', [['envoy.listener_address', '[__1]_443']]],
  ['listener.0.0.0.0_10000.http.ingress_http.downstream_rq_2xx', 'listener.http.downstream_rq_xx',
    [['envoy.response_code_class', '2'], ['envoy.http_conn_manager_prefix', 'ingress_http'], ['envoy.listener_address', '0.0.0.0_10000']]],
  ['listener.0.0.0.0_10000.worker_1.downstream_cx_total', 'listener.worker_downstream_cx_total',
    [['envoy.worker_id', '1'], ['envoy.listener_address', '0.0.0.0_10000']]],
  ['listener.admin.downstream_cx_total', 'listener.admin.downstream_cx_total', []],
  ['listener_manager.worker_0.dispatcher.loop_duration_us', 'listener_manager.worker_dispatcher.loop_duration_us', [['envoy.worker_id', '0']]],
  ['tcp.mysql.downstream_cx_total', 'tcp.downstream_cx_total', [['envoy.tcp_prefix', 'mysql']]],
  ['vhost.www.vcluster.other.upstream_rq_503', 'vhost.vcluster.upstream_rq',
    [['envoy.response_code', '503'], ['envoy.virtual_cluster', 'other'], ['envoy.virtual_host', 'www']]],
  ['http.ingress_http.rds.local.route.update_success', 'http.rds.update_success',
    [['envoy.rds_route_config', 'local.route'], ['envoy.http_conn_manager_prefix', 'ingress_http']]],
  ['http.ingress_http.user_agent.ios.downstream_cx_total', 'http.user_agent.downstream_cx_total',
    [['envoy.http_user_agent', 'ios'], ['envoy.http_conn_manager_prefix', 'ingress_http']]],
  ['http.ingress_http.fault.svc.delays_injected', 'http.fault.delays_injected',
    [['envoy.fault_downstream_cluster', 'svc'], ['envoy.http_conn_manager_prefix', 'ingress_http']]],
  ['ingress.http_local_rate_limit.rate_limited', 'http_local_rate_limit.rate_limited', [['envoy.local_http_ratelimit_prefix', 'ingress']]],
  ['server.live', 'server.live', []],
  ['cluster_manager.active_clusters', 'cluster_manager.active_clusters', []],
];

for (const [name, extracted, tags] of cases) {
  t.test(name, async (t) => {
    const got = extractTags(name);
    t.equal(got.extracted, extracted);
    t.same(got.tags.map((tag) => [tag.name, tag.value]), tags);
  });
}

t.test('results are memoised', async (t) => {
  t.equal(extractTags('cluster.x.upstream_rq_200'), extractTags('cluster.x.upstream_rq_200'));
});
