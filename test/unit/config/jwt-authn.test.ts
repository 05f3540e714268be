// The jwt_authn filter translated: Envoy's defaults (Authorization: Bearer and access_token when no
// location is named, clock skew 60 s, remote JWKS cached 10 minutes, no token cache unless
// jwt_cache_config), Istio's RequestAuthentication shape (payload_in_metadata with its normalized
// claims), rules and requirement_map, PerRouteConfig, and what Legate refuses by name.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, JwtAuthnConfig } from '../../../proxy/config/model.ts';
import { explainHttpFilters } from '../../../proxy/explain/filters.ts';
import { bootstrap, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';

const JWT_AUTHN_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig';
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };
const JWKS = '{"keys":[]}';

function translate(config: object, routeList: object[] = [{ match: { prefix: '/' }, route: { cluster: 'c' } }]) {
  const boot = translateBootstrap(bootstrap(
    [httpListener('l', routes(routeList), { http_filters: [{ name: 'envoy.filters.http.jwt_authn', typed_config: { '@type': JWT_AUTHN_TYPE, ...config } }, router] })],
    [staticCluster('c', [{ port: 1 }])],
  ));
  const hcm = boot.listeners[0].filterChains[0].network as HttpConnectionManager;
  return { boot, hcm, warnings: boot.warnings, config: hcm.httpFilters[0].config as JwtAuthnConfig, routeConfig: boot.routeConfigs[hcm.routeConfigName] };
}

t.test('Istio\'s RequestAuthentication shape, with Envoy\'s defaults', async (t) => {
  const { config, hcm, warnings } = translate({
    providers: {
      'origins-0': {
        issuer: 'https://accounts.example.com',
        local_jwks: { inline_string: JWKS },
        forward: true,
        payload_in_metadata: 'payload',
        normalize_payload_in_metadata: { space_delimited_claims: ['scope', 'permission'] },
      },
    },
    rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] } } }],
    bypass_cors_preflight: true,
  });
  const p = config.providers[0];
  t.equal(p.name, 'origins-0');
  t.same(p.fromHeaders, [{ name: 'authorization', valuePrefix: 'Bearer ' }], 'the default locations');
  t.same(p.fromParams, ['access_token']);
  t.equal(p.clockSkewSeconds, 60);
  t.equal(p.jwtCacheSize, 0, 'no token cache unless configured');
  t.equal(p.forward, true);
  t.same(config.rules[0].requires, { kind: 'any', requirements: [{ kind: 'provider', provider: 'origins-0' }, { kind: 'allow_missing' }] });
  t.equal(config.bypassCorsPreflight, true);
  t.equal(p.payloadInMetadata, 'payload');
  t.same(p.spaceDelimitedClaims, ['scope', 'permission']);
  t.same([p.headerInMetadata, p.failedStatusInMetadata], ['', ''], 'unset: not written');
  t.same(warnings, [], 'nothing warned about');
  t.equal(explainHttpFilters(hcm.httpFilters, null, null)[0].detail, 'verifies JWTs of origins-0 by 1 rule');
});

t.test('remote JWKS, requirement_map and PerRouteConfig', async (t) => {
  const { config, routeConfig } = translate(
    {
      providers: {
        r: {
          remote_jwks: { http_uri: { uri: 'https://issuer.example/jwks', cluster: 'c', timeout: '2s' } },
          from_headers: [{ name: 'X-Token', value_prefix: 'JWT ' }],
          jwt_cache_config: {},
          clock_skew_seconds: 5,
        },
      },
      requirement_map: { need: { provider_and_audiences: { provider_name: 'r', audiences: ['a'] } } },
      rules: [{ match: { path: '/x', headers: [{ name: 'x-h', present_match: true }] }, requirement_name: 'need' }, { match: { prefix: '/' } }],
    },
    [
      { match: { prefix: '/off' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.jwt_authn': { '@type': PER_ROUTE_TYPE, disabled: true } } },
      { match: { prefix: '/' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.jwt_authn': { '@type': PER_ROUTE_TYPE, requirement_name: 'need' } } },
    ],
  );
  t.same(config.providers[0].jwks, { kind: 'remote', uri: 'https://issuer.example/jwks', cluster: 'c', timeoutMs: 2000, cacheDurationMs: 600_000 });
  t.same(config.providers[0].fromHeaders, [{ name: 'x-token', valuePrefix: 'JWT ' }]);
  t.same(config.providers[0].fromParams, [], 'a named location replaces the defaults');
  t.equal(config.providers[0].jwtCacheSize, 100);
  t.equal(config.providers[0].clockSkewSeconds, 5);
  t.same(config.requirementMap.need, { kind: 'provider', provider: 'r', audiences: ['a'] });
  t.equal(config.rules[0].requirementName, 'need');
  t.equal(config.rules[0].match.path.kind, 'path');
  t.equal(config.rules[1].requires, undefined, 'a rule without a requirement verifies nothing');
  const vhost = routeConfig.virtualHosts[0];
  t.same(vhost.routes[0].typedPerFilterConfig['envoy.filters.http.jwt_authn'], { disabled: true });
  t.same(vhost.routes[1].typedPerFilterConfig['envoy.filters.http.jwt_authn'], { requirementName: 'need' });
});

t.test('refused by name', async (t) => {
  const local = { local_jwks: { inline_string: JWKS } };
  t.throws(() => translate({ providers: { a: local }, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'b' } }] }), /no provider 'b'/);
  t.throws(() => translate({ providers: { a: local }, rules: [{ match: { prefix: '/' }, requirement_name: 'nope' }] }), /no requirement 'nope'/);
  t.throws(() => translate({ providers: { a: { ...local, subjects: { prefix: 'spiffe://' } } } }), /subjects/);
  t.throws(() => translate({ providers: { a: local }, filter_state_rules: { name: 'x' } }), /filter_state_rules/);
  t.throws(() => translate({ providers: { a: { remote_jwks: { http_uri: { uri: 'https://x/jwks', cluster: 'c', timeout: '1s' }, async_fetch: {} } } } }), /async_fetch/);
  t.throws(() => translate({ providers: { a: {} } }), /jwks|remote_jwks|local_jwks/);
});
