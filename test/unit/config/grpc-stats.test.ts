// envoy.filters.http.grpc_stats as Legate translates it, and the fields it rejects by name.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager } from '../../../proxy/config/model.ts';
import { httpListener, ROUTER_TYPE } from '../../support/bootstrap.ts';

const TYPE = 'type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig';
const ROUTES = { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] };

function listener(config: object) {
  return httpListener('l', ROUTES, {
    http_filters: [
      { name: 'envoy.filters.http.grpc_stats', typed_config: { '@type': TYPE, ...config } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ],
  });
}

function grpcStats(config: object): unknown {
  const hcm = translateListener(listener(config)).listener.filterChains[0].network as HttpConnectionManager;
  return hcm.httpFilters[0].config;
}

function rejection(config: object): string {
  try {
    translateListener(listener(config));
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

t.test('the config: stats_for_all_methods (false when unset), the allowlist, dots, emit_filter_state', async (t) => {
  t.same(grpcStats({}), { statsForAllMethods: false, allowlist: [], replaceDotsInGrpcServiceName: false, emitFilterState: false });
  t.same(grpcStats({ stats_for_all_methods: true, replace_dots_in_grpc_service_name: true }), { statsForAllMethods: true, allowlist: [], replaceDotsInGrpcServiceName: true, emitFilterState: false });
  t.same(grpcStats({ individual_method_stats_allowlist: { services: [{ name: 'pkg.Svc', method_names: ['A', 'B'] }] } }), {
    statsForAllMethods: false,
    allowlist: [{ service: 'pkg.Svc', methods: ['A', 'B'] }],
    replaceDotsInGrpcServiceName: false,
    emitFilterState: false,
  });
  t.match(grpcStats({ emit_filter_state: true, stats_for_all_methods: false }), { emitFilterState: true }, "istiod's shape");
});

t.test('what Legate does not build is rejected by name', async (t) => {
  t.match(rejection({ enable_upstream_stats: true }), /enable_upstream_stats.*not supported by Legate/);
});
