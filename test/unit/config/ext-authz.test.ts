// The ext_authz filter translated: Envoy's defaults (200 ms, 403, 100 %), the HTTP service's
// header lists (its four request headers always allowed), ExtAuthzPerRoute, what explain says of
// it, and what Legate refuses by name (google_grpc, mutation rules, V2, a missing cluster) or
// ignores with a warning (typed metadata namespaces: Legate keeps no typed metadata).
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { ExtAuthzConfig, ExtAuthzPerRouteConfig, HttpConnectionManager } from '../../../proxy/config/model.ts';
import { explainHttpFilters } from '../../../proxy/explain/filters.ts';
import { bootstrap, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';

const EXT_AUTHZ_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };

function translate(config: object, routeList: object[] = [{ match: { prefix: '/' }, route: { cluster: 'c' } }]) {
  const boot = translateBootstrap(bootstrap(
    [httpListener('l', routes(routeList), { http_filters: [{ name: 'envoy.filters.http.ext_authz', typed_config: { '@type': EXT_AUTHZ_TYPE, ...config } }, router] })],
    [staticCluster('c', [{ port: 1 }]), staticCluster('authz', [{ port: 2 }])],
  ));
  const hcm = boot.listeners[0].filterChains[0].network as HttpConnectionManager;
  return { boot, hcm, config: hcm.httpFilters[0].config as ExtAuthzConfig, routeConfig: boot.routeConfigs[hcm.routeConfigName] };
}

const grpc = { grpc_service: { envoy_grpc: { cluster_name: 'authz' } } };

t.test('the gRPC service with Envoy\'s defaults', async (t) => {
  const { config, hcm } = translate(grpc);
  t.same(config.service, { kind: 'grpc', cluster: 'authz', authority: 'authz', timeoutMs: 200, initialMetadata: [] });
  t.equal(config.statusOnError, 403);
  t.equal(config.filterEnabledPercent, 100);
  t.equal(config.failureModeAllow, false);
  t.equal(config.allowedHeaders, undefined, 'the gRPC service gets every header unless told');
  t.equal(config.chargeClusterResponseStats, true);
  t.same(explainHttpFilters(hcm.httpFilters, null, null)[0], {
    name: 'envoy.filters.http.ext_authz',
    type: 'ext_authz',
    disabled: false,
    detail: 'asks the gRPC authorization service on cluster authz (timeout 200 ms), 403 on error',
  });

  const tuned = translate({
    grpc_service: { envoy_grpc: { cluster_name: 'authz', authority: 'auth.internal' }, timeout: '1.5s', initial_metadata: [{ key: 'X-Tenant', value: 't1' }] },
    status_on_error: { code: 'ServiceUnavailable' },
    failure_mode_allow: true,
    filter_enabled: { default_value: { numerator: 25 }, runtime_key: 'authz.enabled' },
    with_request_body: { max_request_bytes: 4096, pack_as_bytes: true },
    allowed_headers: { patterns: [{ prefix: 'x-' }] },
  }).config;
  t.same(tuned.service, { kind: 'grpc', cluster: 'authz', authority: 'auth.internal', timeoutMs: 1500, initialMetadata: [{ key: 'x-tenant', value: 't1' }] });
  t.equal(tuned.statusOnError, 503);
  t.equal(tuned.filterEnabledPercent, 25);
  t.same(tuned.filterEnabledKey, { key: 'authz.enabled', denominator: 100 }, 'its runtime key');
  t.same(tuned.withRequestBody, { maxRequestBytes: 4096, allowPartialMessage: false, packAsBytes: true });
  t.same(tuned.allowedHeaders, [{ kind: 'prefix', value: 'x-', ignoreCase: false }]);

  const istio = translate({
    ...grpc,
    filter_enabled_metadata: { filter: 'envoy.filters.http.rbac', path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }], value: { string_match: { prefix: 'istio-ext-authz' } } },
  }).config;
  t.same(istio.filterEnabledMetadata, {
    filter: 'envoy.filters.http.rbac',
    path: ['istio_ext_authz_shadow_effective_policy_id'],
    value: { kind: 'string', matcher: { kind: 'prefix', value: 'istio-ext-authz', ignoreCase: false } },
    invert: false,
  }, 'filter_enabled_metadata as Istio writes it');
});

t.test('the HTTP service: its header lists, the body always as bytes', async (t) => {
  const { config } = translate({
    http_service: {
      server_uri: { uri: 'http://authz', cluster: 'authz', timeout: '0.5s' },
      path_prefix: '/check',
      authorization_request: { allowed_headers: { patterns: [{ exact: 'x-token' }] }, headers_to_add: [{ key: 'x-from', value: '%DOWNSTREAM_REMOTE_ADDRESS%' }] },
      authorization_response: { allowed_upstream_headers: { patterns: [{ exact: 'x-user' }] } },
    },
    with_request_body: { max_request_bytes: 10 },
  });
  const service = config.service;
  t.equal(service.kind, 'http');
  if (service.kind !== 'http') return;
  t.equal(service.timeoutMs, 500);
  t.equal(service.pathPrefix, '/check');
  t.same(service.headersToAdd, [{ key: 'x-from', value: '%DOWNSTREAM_REMOTE_ADDRESS%', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }]);
  t.same(service.allowedUpstreamHeaders.map((m) => m.value), ['x-user']);
  t.same(config.allowedHeaders?.map((m) => m.value), ['x-token', 'authorization', ':method', ':path', ':authority'], 'the deprecated list, and Envoy\'s four');
  t.equal(config.withRequestBody?.packAsBytes, true);
});

t.test('ExtAuthzPerRoute: disabled, or check settings', async (t) => {
  const { routeConfig } = translate(grpc, [
    { match: { prefix: '/off' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.ext_authz': { '@type': PER_ROUTE_TYPE, disabled: true } } },
    {
      match: { prefix: '/' },
      route: { cluster: 'c' },
      typed_per_filter_config: { 'envoy.filters.http.ext_authz': { '@type': PER_ROUTE_TYPE, check_settings: { context_extensions: { tenant: 'a' }, disable_request_body_buffering: true } } },
    },
  ]);
  const [off, on] = routeConfig.virtualHosts[0].routes;
  t.equal((off.typedPerFilterConfig['envoy.filters.http.ext_authz'] as ExtAuthzPerRouteConfig).disabled, true);
  t.same(on.typedPerFilterConfig['envoy.filters.http.ext_authz'], { disabled: false, contextExtensions: { tenant: 'a' }, disableRequestBodyBuffering: true });
});

t.test('refused by name, or ignored with a warning', async (t) => {
  t.throws(() => translate({ grpc_service: { google_grpc: { target_uri: 'authz:9000', stat_prefix: 'a' } } }), /google_grpc: not supported by Legate: ext_authz reaches its service through a cluster/);
  t.throws(() => translate({ ...grpc, transport_api_version: 'V2' }), /API version V2 is not supported/);
  t.throws(() => translate({ ...grpc, validate_mutations: true }), /field 'validate_mutations' of envoy.extensions.filters.http.ext_authz.v3.ExtAuthz is not supported by Legate/);
  t.throws(() => translate({ grpc_service: { envoy_grpc: { cluster_name: 'missing' } } }), /grpc_service.envoy_grpc.cluster_name: unknown cluster 'missing'/);
  t.throws(() => translate({ http_service: { server_uri: { uri: 'http://x', cluster: 'gone', timeout: '1s' } } }), /http_service.server_uri.cluster: unknown cluster 'gone'/);
  t.throws(() => translate({}), /one of grpc_service or http_service is required/);
  t.same(
    translate({ ...grpc, filter_enabled_metadata: { filter: 'f', path: [{ key: 'a' }, { key: 'b' }], value: { double_match: { exact: 1 } } } }).config.filterEnabledMetadata,
    { filter: 'f', path: ['a', 'b'], value: { kind: 'double_exact', value: 1 }, invert: false },
    'a nested path and any value matcher (the one MetadataMatcher translator)',
  );
  const { boot, config } = translate({ ...grpc, metadata_context_namespaces: ['envoy.filters.http.rbac'], typed_metadata_context_namespaces: ['x'] });
  t.same(config.metadataContextNamespaces, ['envoy.filters.http.rbac']);
  t.ok(boot.warnings.some((w) => w.includes('typed_metadata_context_namespaces: ignored by Legate')), 'typed metadata (Legate has none) is warned about');
});
