// The bootstrap's stats_config: custom tags (Istio's regexes, with their POSIX classes), default
// tags kept or dropped, fixed tags, the stats matcher and per-histogram buckets in Prometheus.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import { compileStatsSettings } from '../../../proxy/server/stats-settings.ts';
import { mergeSnapshots, renderPrometheus, renderStatsText, Store, TagProducer } from '../../../proxy/stats/index.ts';

function settingsOf(statsConfig: object) {
  return compileStatsSettings(translateBootstrap({ node: { id: 'n', cluster: 'c' }, stats_config: statsConfig }).statsConfig);
}

t.test('tags: stats_tags beside or instead of the defaults', async (t) => {
  // Istio's http_conn_manager_prefix regex uses [:digit:] inside brackets, as std::regex allows.
  const istio = new TagProducer([
    { name: 'http_conn_manager_prefix', regex: String.raw`^http\.(((?:[_.[:digit:]\w]*|[_\[\]aAbBcCdDeEfF[:digit:]\w\:]*));\.)` },
    { name: 'mesh', fixedValue: 'prod' },
  ], false);
  t.same(istio.extract('http.10.0.0.1_8080;.downstream_rq_total'), {
    extracted: 'http.downstream_rq_total',
    tags: [{ name: 'http_conn_manager_prefix', value: '10.0.0.1_8080' }, { name: 'mesh', value: 'prod' }],
  });
  t.same(istio.extract('cluster.backend.upstream_rq_200').tags, [{ name: 'mesh', value: 'prod' }], 'no default tags');
  const withDefaults = new TagProducer([{ name: 'mesh', fixedValue: 'prod' }]);
  t.same(withDefaults.extract('cluster.backend.upstream_rq_200').tags.map((tag) => tag.name), ['envoy.response_code', 'envoy.cluster_name', 'mesh']);
  const byName = new TagProducer([{ name: 'envoy.cluster_name' }], false);
  t.same(byName.extract('cluster.backend.upstream_rq_200'), { extracted: 'cluster.upstream_rq_200', tags: [{ name: 'envoy.cluster_name', value: 'backend' }] }, 'a default by name alone');
});

t.test('bad stats_config is refused by field', async (t) => {
  t.throws(() => settingsOf({ stats_tags: [{ tag_name: 'x', regex: '(' }] }), /stats_config\.stats_tags/);
  t.throws(() => settingsOf({ stats_tags: [{ tag_name: 'no_such_default' }] }), /no default tag/);
  t.throws(() => settingsOf({ histogram_bucket_settings: [{ match: { prefix: 'a' }, buckets: [5, 1] }] }), /strictly increasing/);
});

t.test('stats_matcher and histogram_bucket_settings in the admin output', async (t) => {
  const store = new Store();
  store.counter('cluster.a.upstream_rq_total').inc();
  store.counter('server.x').inc();
  store.histogram('cluster.a.upstream_rq_time', 'ms').record(7);
  const stats = mergeSnapshots([store.snapshot()]);
  const inclusion = settingsOf({
    stats_matcher: { inclusion_list: { patterns: [{ prefix: 'server.' }, { suffix: '_time' }] } },
    histogram_bucket_settings: [{ match: { prefix: 'cluster.' }, buckets: [5, 10] }],
  });
  const text = renderStatsText(stats, { settings: inclusion });
  t.match(text, /server\.x: 1/);
  t.notMatch(text, /upstream_rq_total/);
  const prometheus = renderPrometheus(stats, { settings: inclusion });
  t.match(prometheus, /le="5"\} 0\nenvoy_cluster_upstream_rq_time_bucket\{envoy_cluster_name="a",le="10"\} 1\n/);
  t.notMatch(prometheus, /le="0.5"/, 'the configured buckets only');
  const exclusion = settingsOf({ stats_matcher: { exclusion_list: { patterns: [{ prefix: 'server.' }] } } });
  t.notMatch(renderStatsText(stats, { settings: exclusion }), /server\.x/);
  t.equal(renderStatsText(stats, { settings: settingsOf({ stats_matcher: { reject_all: true } }) }), '');
});
