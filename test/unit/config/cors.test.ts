// The cors filter and CORS policies translated: the filter by type or by name alone, the newer
// CorsPolicy in typed_per_filter_config (also inside a FilterConfig), the older cors field of a
// virtual host and a route action, unset fields left unset for the filter's fallback, and fields
// of neither message refused.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, RouteAction } from '../../../proxy/config/model.ts';
import { bootstrap, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';

const CORS_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
const CORS_POLICY_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const FILTER_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

const filters = (cors: object) => ({ http_filters: [cors, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }] });

function translate(routeConfig: object, cors: object = { name: 'envoy.filters.http.cors', typed_config: { '@type': CORS_TYPE } }) {
  const boot = translateBootstrap(bootstrap([httpListener('l', routeConfig, filters(cors))], [staticCluster('c', [{ port: 1 }])]));
  const hcm = boot.listeners[0].filterChains[0].network as HttpConnectionManager;
  return { hcm, routeConfig: boot.routeConfigs[hcm.routeConfigName] };
}
const hcmOf = (routeConfig: object, cors?: object): HttpConnectionManager => translate(routeConfig, cors).hcm;

t.test('the filter, by type or by its name alone', async (t) => {
  t.same(hcmOf(routes([])).httpFilters[0], { name: 'envoy.filters.http.cors', type: 'envoy.extensions.filters.http.cors.v3.Cors', config: {} });
  t.equal(hcmOf(routes([]), { name: 'envoy.filters.http.cors' }).httpFilters[0].type, 'envoy.extensions.filters.http.cors.v3.Cors');
});

t.test('typed_per_filter_config CorsPolicy and the older cors fields', async (t) => {
  const { routeConfig } = translate(
    routes(
      [
        {
          match: { prefix: '/typed' },
          route: { cluster: 'c' },
          typed_per_filter_config: {
            'envoy.filters.http.cors': {
              '@type': CORS_POLICY_TYPE,
              allow_origin_string_match: [{ exact: 'https://a.example' }, { safe_regex: { regex: 'https://.*\\.b\\.example' } }, { prefix: 'HTTPS://C', ignore_case: true }],
              allow_methods: 'GET, POST',
              allow_headers: 'content-type',
              expose_headers: 'x-trace',
              max_age: '600',
              allow_credentials: true,
              allow_private_network_access: false,
              forward_not_matching_preflights: false,
              filter_enabled: { default_value: { numerator: 50 } },
              shadow_enabled: { default_value: { numerator: 10, denominator: 'HUNDRED' }, runtime_key: 'cors.shadow' },
            },
          },
        },
        { match: { prefix: '/old' }, route: { cluster: 'c', cors: { allow_origin_string_match: [{ exact: '*' }], allow_methods: 'PUT' } } },
        { match: { prefix: '/off' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.cors': { '@type': FILTER_CONFIG_TYPE, disabled: true } } },
        {
          match: { prefix: '/wrapped' },
          route: { cluster: 'c' },
          typed_per_filter_config: { 'envoy.filters.http.cors': { '@type': FILTER_CONFIG_TYPE, config: { '@type': CORS_POLICY_TYPE, max_age: '5' } } },
        },
      ],
      { cors: { allow_origin_string_match: [{ suffix: '.example' }], allow_headers: 'x-vhost' } },
    ),
  );
  const vhost = routeConfig.virtualHosts[0];
  t.same(vhost.cors, {
    allowOrigins: [{ kind: 'suffix', value: '.example', ignoreCase: false }],
    allowMethods: '',
    allowHeaders: 'x-vhost',
    exposeHeaders: '',
    maxAge: '',
    filterEnabledPercent: 100,
    shadowEnabledPercent: 0,
  }, 'unset fields stay unset (no allowCredentials, no forwardNotMatchingPreflights)');
  const [typed, old, off, wrapped] = vhost.routes;
  t.same(typed.typedPerFilterConfig['envoy.filters.http.cors'], {
    allowOrigins: [
      { kind: 'exact', value: 'https://a.example', ignoreCase: false },
      { kind: 'safe_regex', value: 'https://.*\\.b\\.example', ignoreCase: false },
      { kind: 'prefix', value: 'HTTPS://C', ignoreCase: true },
    ],
    allowMethods: 'GET, POST',
    allowHeaders: 'content-type',
    exposeHeaders: 'x-trace',
    maxAge: '600',
    filterEnabledPercent: 50,
    shadowEnabledPercent: 10,
    shadowEnabledKey: { key: 'cors.shadow', denominator: 100 },
    allowCredentials: true,
    allowPrivateNetworkAccess: false,
    forwardNotMatchingPreflights: false,
  });
  t.match((old.action as RouteAction).cors, { allowOrigins: [{ kind: 'exact', value: '*' }], allowMethods: 'PUT' });
  t.same(off.typedPerFilterConfig['envoy.filters.http.cors'], { disabled: true });
  t.match(wrapped.typedPerFilterConfig['envoy.filters.http.cors'], { maxAge: '5', allowOrigins: [] });
});

t.test('fields outside the CorsPolicy messages are refused', async (t) => {
  t.throws(() => hcmOf(routes([]), { name: 'envoy.filters.http.cors', typed_config: { '@type': CORS_TYPE, allow_methods: 'GET' } }), /allow_methods/);
  t.throws(() => hcmOf(routes([], { cors: { allow_origin: ['*'] } })), /cors\.allow_origin/, "v2's allow_origin is gone from v3");
  t.throws(() => hcmOf(routes([{ match: { prefix: '/' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.cors': { '@type': CORS_POLICY_TYPE, allow_origin_regex: ['.*'] } } }])), /allow_origin_regex/);
});
