// envoy.filters.http.health_check as Legate translates it: Envoy's rules for cache_time and
// cluster_min_healthy_percentages, and the required pass_through_mode.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager } from '../../../proxy/config/model.ts';
import { httpListener, ROUTER_TYPE } from '../../support/bootstrap.ts';

const TYPE = 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck';
const ROUTES = { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] };

function translate(config: object) {
  return translateListener(httpListener('l', ROUTES, {
    http_filters: [
      { name: 'envoy.filters.http.health_check', typed_config: { '@type': TYPE, ...config } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ],
  }));
}

const filterConfig = (config: object): unknown => (translate(config).listener.filterChains[0].network as HttpConnectionManager).httpFilters[0].config;

function rejection(config: object): string {
  try {
    translate(config);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

t.test('the config: headers, cache_time, the percentages in name order, truncated', async (t) => {
  const config = filterConfig({ pass_through_mode: false, headers: [{ name: ':path', string_match: { exact: '/healthz' } }], cluster_min_healthy_percentages: { b: { value: 12.5 }, a: { value: 100 } } });
  t.match(config, { passThroughMode: false, cacheTimeMs: 0, headers: [{ name: ':path' }] });
  t.same((config as { clusterMinHealthyPercentages: unknown }).clusterMinHealthyPercentages, [['a', 100], ['b', 12]]);
  t.match(filterConfig({ pass_through_mode: true, cache_time: '2.5s' }), { passThroughMode: true, cacheTimeMs: 2500, clusterMinHealthyPercentages: [] });
});

t.test("Envoy's rules", async (t) => {
  t.match(rejection({ pass_through_mode: false, cache_time: '1s' }), /typed_config\.cache_time: cache_time must not be set when pass_through_mode is false/);
  t.match(rejection({}), /pass_through_mode/, 'pass_through_mode is required');
  t.match(rejection({ pass_through_mode: true, cluster_min_healthy_percentages: { a: { value: 101 } } }), /value/, 'a percentage is at most 100');
  const translated = translate({ pass_through_mode: true, cluster_min_healthy_percentages: { a: { value: 50 } } });
  t.match(translated.warnings, [/cluster_min_healthy_percentages: has no effect in pass_through_mode \(as in Envoy\); ignored/], 'ignored in pass-through mode, as Envoy, and said so');
});
