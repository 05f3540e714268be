// The admin endpoints after real traffic: readiness, server info, stats under Envoy's names (text,
// JSON, Prometheus), clusters, config dump, listeners, and the POST-only lifecycle endpoints.
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchJson, fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { closedPort, startUpstream } from '../../support/upstream.ts';

const app = await startUpstream('app', (req, res) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(req.url === '/fail' ? 503 : 200);
    res.end(req.url);
  });
});
const silent = await startUpstream('silent', () => {});
t.teardown(() => Promise.all([app.close(), silent.close()]));
const refused = await closedPort();

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/refused' }, route: { cluster: 'refused' } },
          { match: { prefix: '/slow' }, route: { cluster: 'silent', timeout: '0.1s' } },
          { match: { prefix: '/' }, route: { cluster: 'app' } },
        ]),
      ),
    ],
    [staticCluster('app', [{ port: app.port, weight: 7 }]), staticCluster('refused', [{ port: refused }]), staticCluster('silent', [{ port: silent.port }])],
  ),
);
t.teardown(() => legate.stop());
const admin = (path: string) => legate.adminUrl(path);

// The traffic every test below reads the stats of: 3 OK, 1 upstream 503, 1 refused (UF), 1 timeout (UT).
const statuses: number[] = [];
for (const path of ['/ok/1', '/ok/2', '/ok/3', '/fail', '/refused', '/slow']) statuses.push((await fetchText(legate.url(path))).status);

/** /stats text as name -> value for counters and gauges, name -> quantile text for histograms. */
async function statsText(query = ''): Promise<Map<string, string>> {
  const body = (await fetchText(admin(`/stats${query}`))).body;
  return new Map(body.split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
}

t.test('the traffic got the expected answers', async (t) => {
  t.same(statuses, [200, 200, 200, 503, 503, 504]);
});

t.test('/ready is 200 LIVE', async (t) => {
  const ready = await fetchText(admin('/ready'));
  t.equal(ready.status, 200);
  t.equal(ready.body, 'LIVE\n');
});

t.test('/server_info', async (t) => {
  const info = await fetchJson<{ state: string; version: string; node: { id: string }; uptime_current_epoch: string; command_line_options: { concurrency: number } }>(admin('/server_info'));
  t.equal(info.state, 'LIVE');
  t.match(info.version, /^legate\/\d+\.\d+\.\d+/);
  t.equal(info.node.id, 'test');
  t.match(info.uptime_current_epoch, /^\d+s$/);
  t.equal(info.command_line_options.concurrency, 1);
});

t.test('/stats: cluster, connection manager and listener stats under Envoy names', async (t) => {
  const stats = await statsText();
  const expected: Record<string, string> = {
    'cluster.app.upstream_rq_total': '4',
    'cluster.app.upstream_rq_2xx': '3',
    'cluster.app.upstream_rq_5xx': '1',
    'cluster.app.upstream_rq_200': '3',
    'cluster.app.upstream_rq_503': '1',
    'cluster.app.upstream_rq_completed': '4',
    'cluster.refused.upstream_cx_connect_fail': '1',
    'cluster.refused.upstream_rq_503': '1',
    'cluster.silent.upstream_rq_timeout': '1',
    'cluster.silent.upstream_rq_504': '1',
    'http.ingress.downstream_rq_total': '6',
    'http.ingress.downstream_rq_2xx': '3',
    'http.ingress.downstream_rq_5xx': '3',
    'http.ingress.rq_total': '6',
  };
  for (const [name, value] of Object.entries(expected)) t.equal(stats.get(name), value, name);
  t.ok(Number(stats.get('cluster.app.upstream_cx_total')) >= 1, 'upstream_cx_total');
  t.ok(Number(stats.get('listener.127.0.0.1_0.downstream_cx_total')) >= 1, 'listener stats by the configured address');
  const quantiles = /^P0\(nan,[\d.]+\) P25\(nan,[\d.]+\) P50\(nan,[\d.]+\) P75\(nan,[\d.]+\) P90\(nan,[\d.]+\) P95\(nan,[\d.]+\) P99\(nan,[\d.]+\) P99\.5\(nan,[\d.]+\) P99\.9\(nan,[\d.]+\) P100\(nan,[\d.]+\)$/;
  t.match(stats.get('cluster.app.upstream_rq_time'), quantiles, 'upstream_rq_time quantiles');
  t.match(stats.get('http.ingress.downstream_rq_time'), quantiles, 'downstream_rq_time quantiles');
});

t.test('/stats?filter= keeps only matching names', async (t) => {
  const stats = await statsText('?filter=upstream_rq_2xx');
  t.same([...stats.keys()].sort(), ['cluster.app.upstream_rq_2xx', 'cluster.refused.upstream_rq_2xx', 'cluster.silent.upstream_rq_2xx']);
  t.equal((await fetchText(admin('/stats?filter=('))).status, 400, 'an invalid regex is a 400');
});

t.test('/stats?format=json: values and histogram quantiles', async (t) => {
  interface Quantiles { name: string; values: { cumulative: number | null; interval: number | null }[] }
  const { stats } = await fetchJson<{ stats: ({ name: string; value: number } | { histograms: { supported_quantiles: number[]; computed_quantiles: Quantiles[] } })[] }>(admin('/stats?format=json'));
  const values = new Map(stats.flatMap((s) => ('name' in s ? [[s.name, s.value] as const] : [])));
  t.equal(values.get('cluster.app.upstream_rq_total'), 4);
  const histograms = stats.find((s) => 'histograms' in s);
  t.ok(histograms !== undefined && 'histograms' in histograms, 'a histograms entry');
  if (histograms === undefined || !('histograms' in histograms)) return;
  t.same(histograms.histograms.supported_quantiles, [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
  const rqTime = histograms.histograms.computed_quantiles.find((q) => q.name === 'cluster.app.upstream_rq_time');
  t.equal(rqTime?.values.length, 10, 'one value per supported quantile');
  t.ok(rqTime?.values.every((v) => typeof v.cumulative === 'number'), 'cumulative values are numbers');
  const p50 = rqTime?.values[2].cumulative ?? -1;
  const p100 = rqTime?.values[9].cumulative ?? -1;
  t.ok(p50 >= 0 && p50 <= p100, `P50 ${p50} <= P100 ${p100}`);
});

t.test('/stats/prometheus: Envoy names, tags and histogram buckets', async (t) => {
  const reply = await fetchText(admin('/stats/prometheus'));
  t.equal(reply.status, 200);
  t.match(reply.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const body = reply.body;
  t.match(body, /^# TYPE envoy_cluster_upstream_rq_total counter$/m);
  t.match(body, /^envoy_cluster_upstream_rq_total\{envoy_cluster_name="app"\} 4$/m);
  t.match(body, /^envoy_cluster_upstream_rq\{envoy_response_code="200",envoy_cluster_name="app"\} 3$/m, 'upstream_rq_200 as a response code tag');
  t.match(body, /^envoy_cluster_upstream_rq_xx\{envoy_response_code_class="2",envoy_cluster_name="app"\} 3$/m, 'upstream_rq_2xx as a class tag');
  t.match(body, /^envoy_http_downstream_rq_total\{envoy_http_conn_manager_prefix="ingress"\} 6$/m);
  t.match(body, /^# TYPE envoy_cluster_upstream_rq_time histogram$/m);
  t.match(body, /^envoy_cluster_upstream_rq_time_bucket\{envoy_cluster_name="app",le="\+Inf"\} 4$/m, 'the +Inf bucket holds every sample');
  t.match(body, /^envoy_cluster_upstream_rq_time_count\{envoy_cluster_name="app"\} 4$/m);
  t.match(body, /^envoy_http_downstream_rq_time_bucket\{envoy_http_conn_manager_prefix="ingress",le="0\.5"\} \d+$/m);
});

t.test('/clusters: text and JSON with hosts, weights, health and counters', async (t) => {
  const textBody = (await fetchText(admin('/clusters'))).body;
  const host = `app::${app.address}::`;
  t.match(textBody, new RegExp(`^${host}weight::7$`, 'm'));
  t.match(textBody, new RegExp(`^${host}health_flags::healthy$`, 'm'));
  t.match(textBody, new RegExp(`^${host}rq_total::4$`, 'm'));
  t.match(textBody, new RegExp(`^${host}rq_success::3$`, 'm'));
  t.match(textBody, new RegExp(`^${host}rq_error::1$`, 'm'), 'a 503 from the upstream is an error');
  t.match(textBody, new RegExp(`^silent::${silent.address}::rq_timeout::1$`, 'm'));
  t.match(textBody, new RegExp(`^refused::127\\.0\\.0\\.1:${refused}::cx_connect_fail::1$`, 'm'));
  t.match(textBody, /^app::default_priority::max_connections::1024$/m);

  interface HostStatus {
    address: { socket_address: { address: string; port_value: number } };
    weight: number;
    health_status: { health_flags?: string; eds_health_status: string };
    locality: object;
    stats: { name: string; value: number }[];
  }
  const json = await fetchJson<{ cluster_statuses: { name: string; host_statuses: HostStatus[] }[] }>(admin('/clusters?format=json'));
  t.same(json.cluster_statuses.map((c) => c.name).sort(), ['app', 'refused', 'silent']);
  const appHost = json.cluster_statuses.find((c) => c.name === 'app')!.host_statuses[0];
  t.same(appHost.address.socket_address, { address: '127.0.0.1', port_value: app.port });
  t.equal(appHost.weight, 7);
  t.match(appHost.health_status, { health_flags: 'healthy', eds_health_status: 'HEALTHY' });
  t.same(appHost.locality, { region: '', zone: '', sub_zone: '' });
  t.equal(appHost.stats.find((s) => s.name === 'rq_total')?.value, 4);
});

t.test('/config_dump: Envoy\'s ConfigDump with the bootstrap\'s resources as written', async (t) => {
  type Section = { '@type': string; [key: string]: unknown };
  const dump = await fetchJson<{ configs: Section[] }>(admin('/config_dump'));
  const byType = new Map(dump.configs.map((c) => [c['@type'].replace('type.googleapis.com/envoy.admin.v3.', ''), c]));
  t.same([...byType.keys()], ['BootstrapConfigDump', 'ClustersConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump']);
  const listeners = byType.get('ListenersConfigDump') as unknown as { static_listeners: { listener: Section; last_updated: string }[] };
  t.match(listeners.static_listeners, [{ listener: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'ingress' } }]);
  t.ok(!Number.isNaN(Date.parse(listeners.static_listeners[0].last_updated)), 'last_updated is a time');
  const clusters = byType.get('ClustersConfigDump') as unknown as { static_clusters: { cluster: Section }[] };
  t.same(clusters.static_clusters.map((c) => c.cluster.name).sort(), ['app', 'refused', 'silent']);
  t.match(JSON.stringify(byType.get('RoutesConfigDump')), /"\/refused"/, 'the inline route config is a static route config');

  t.test('?resource= lists one field, each element typed; name_regex and mask narrow it', async (t) => {
    const one = await fetchJson<{ configs: Section[] }>(admin('/config_dump?resource=static_clusters&name_regex=^app$&mask=cluster.name'));
    t.same(one.configs, [{ '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump.StaticCluster', cluster: { name: 'app' } }]);
    t.equal((await fetchText(admin('/config_dump?resource=no_such_field'))).status, 404);
    t.equal((await fetchText(admin('/config_dump?name_regex=('))).status, 400, 'a bad regex is a 400');
  });

  t.test('?include_eds adds the endpoints of clusters with a load_assignment', async (t) => {
    t.equal((await fetchText(admin('/config_dump?resource=static_endpoint_configs'))).status, 404, 'not without include_eds');
    const withEds = await fetchJson<{ configs: Section[] }>(admin('/config_dump?include_eds&resource=static_endpoint_configs&name_regex=app'));
    t.match(withEds.configs, [{ endpoint_config: { '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', cluster_name: 'app' } }]);
  });
});

t.test('/listeners: names and bound addresses', async (t) => {
  t.equal((await fetchText(admin('/listeners'))).body, `ingress::127.0.0.1:${legate.port()}\n`);
  const json = await fetchJson<{ listener_statuses: { name: string; local_address: { socket_address: { port_value: number } } }[] }>(admin('/listeners?format=json'));
  t.same(json.listener_statuses.map((l) => [l.name, l.local_address.socket_address.port_value]), [['ingress', legate.port()]]);
});

t.test('POST-only endpoints refuse GET with 405 and change nothing', async (t) => {
  for (const path of ['/healthcheck/fail', '/healthcheck/ok', '/drain_listeners', '/quitquitquit']) {
    t.equal((await fetchText(admin(path))).status, 405, path);
  }
  t.equal((await fetchText(admin('/ready'))).status, 200, 'still ready');
  t.equal((await fetchText(legate.url('/ok/after'))).status, 200, 'still serving');
});

t.test('/healthcheck/fail makes /ready 503, /healthcheck/ok restores it', async (t) => {
  t.equal((await fetchText(admin('/healthcheck/fail'), { method: 'POST' })).status, 200);
  const failing = await fetchText(admin('/ready'));
  t.equal(failing.status, 503);
  t.not(failing.body, 'LIVE\n');
  t.equal((await fetchText(legate.url('/ok/while-failing'))).status, 200, 'traffic is still served');
  t.equal((await fetchText(admin('/healthcheck/ok'), { method: 'POST' })).status, 200);
  const ready = await fetchText(admin('/ready'));
  t.equal(ready.status, 200);
  t.equal(ready.body, 'LIVE\n');
});

t.test('an unknown admin path is a 404', async (t) => {
  t.equal((await fetchText(admin('/no-such-endpoint'))).status, 404);
});
