// The ratelimit filter translated: Envoy's defaults (timeout 20 ms, 429, status_on_error 500), the
// rate limit service's envoy_grpc cluster, authority and initial_metadata, and what is refused:
// google_grpc and an unknown cluster without node.metadata "legate.ratelimit" (with it, the
// embedded service answers and rate_limit_service is never called).
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, RateLimitConfig } from '../../../proxy/config/model.ts';
import { bootstrap, httpListener, ROUTER_TYPE, routes, staticCluster } from '../../support/bootstrap.ts';

const RATELIMIT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit';
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };

function translate(config: object, metadata?: object): RateLimitConfig {
  const boot = translateBootstrap(bootstrap(
    [httpListener('l', routes([{ match: { prefix: '/' }, route: { cluster: 'c' } }]), { http_filters: [{ name: 'envoy.filters.http.ratelimit', typed_config: { '@type': RATELIMIT_TYPE, domain: 'edge', ...config } }, router] })],
    [staticCluster('c', [{ port: 1 }]), staticCluster('rls', [{ port: 2 }], { http2_protocol_options: {} })],
    metadata === undefined ? {} : { node: { id: 'n', cluster: 'edge', metadata } },
  ));
  return (boot.listeners[0].filterChains[0].network as HttpConnectionManager).httpFilters[0].config as RateLimitConfig;
}

const embedded = { 'legate.ratelimit': { limits_path: '/etc/legate/limits.yaml' } };

t.test('the gRPC service with Envoy\'s defaults', async (t) => {
  const config = translate({ rate_limit_service: { transport_api_version: 'V3', grpc_service: { envoy_grpc: { cluster_name: 'rls' } } } });
  t.same(config.grpcService, { clusterName: 'rls', timeoutMs: 0, initialMetadata: [] }, 'no authority: the calls use the cluster name');
  t.equal(config.timeoutMs, 20);
  t.equal(config.rateLimitedStatus, 429);
  t.equal(config.statusOnError, 500);
  t.equal(config.failureModeDeny, false);
  t.equal(config.enableXRatelimitHeaders, false);

  const tuned = translate({
    timeout: '0.1s',
    failure_mode_deny: true,
    enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
    rate_limit_service: {
      transport_api_version: 'V3',
      grpc_service: { envoy_grpc: { cluster_name: 'rls', authority: 'ratelimit.istio-system' }, initial_metadata: [{ key: 'X-Caller', value: 'edge' }] },
    },
  });
  t.same(tuned.grpcService, { clusterName: 'rls', authority: 'ratelimit.istio-system', timeoutMs: 0, initialMetadata: [{ key: 'x-caller', value: 'edge' }] });
  t.equal(tuned.timeoutMs, 100);
  t.equal(tuned.failureModeDeny, true);
  t.equal(tuned.enableXRatelimitHeaders, true);
});

t.test('refused without the embedded service: google_grpc, an unknown cluster, V2', async (t) => {
  const google = { rate_limit_service: { transport_api_version: 'V3', grpc_service: { google_grpc: { target_uri: 'rls:8081', stat_prefix: 'rls' } } } };
  t.throws(() => translate(google), /rate_limit_service\.grpc_service\.google_grpc: not supported by Legate: the ratelimit filter reaches its rate limit service through a cluster \(envoy_grpc\)/);
  t.throws(() => translate({ rate_limit_service: { transport_api_version: 'V3', grpc_service: { envoy_grpc: { cluster_name: 'nowhere' } } } }), /envoy_grpc\.cluster_name: unknown cluster 'nowhere'/);
  t.throws(() => translate({ rate_limit_service: { transport_api_version: 'V2', grpc_service: { envoy_grpc: { cluster_name: 'rls' } } } }), /transport_api_version: API version V2 is not supported/);

  // With legate.ratelimit the embedded service answers: the gRPC service is never called, so neither is checked.
  t.equal(translate(google, embedded).grpcService.targetUri, 'rls:8081');
  t.equal(translate({ rate_limit_service: { transport_api_version: 'V3', grpc_service: { envoy_grpc: { cluster_name: 'nowhere' } } } }, embedded).grpcService.clusterName, 'nowhere');
});
