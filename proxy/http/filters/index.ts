// The HTTP filters that run before the router, built once per connection manager from its
// http_filters list. Each implements the hooks of http-filter/ it needs; the router, last in the
// chain, is added by the connection manager.
import type { HttpFilter as HttpFilterConfig } from '../../config/model.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';
import { createCompressorFilter } from './compressor.ts';
import { createCorsFilter } from './cors.ts';
import { createDecompressorFilter } from './decompressor.ts';
import { createExtAuthzFilter } from './ext-authz.ts';
import { createFaultFilter } from './fault.ts';
import { createGrpcStatsFilter } from './grpc-stats.ts';
import { createGrpcWebFilter } from './grpc-web.ts';
import { createHealthCheckFilter } from './health-check.ts';
import { createIstioAlpnFilter } from './istio/alpn.ts';
import { createConnectAuthorityFilter } from './istio/connect-authority.ts';
import { createConnectBaggageFilter } from './istio/connect-baggage.ts';
import { createPeerMetadataFilter } from './istio/peer-metadata.ts';
import { createIstioStatsFilter } from './istio/stats.ts';
import { createJwtAuthnFilter } from './jwt-authn.ts';
import { createLocalRateLimitFilter } from './local-ratelimit.ts';
import { createRateLimitFilter } from './ratelimit.ts';
import { createRbacFilter } from './rbac.ts';
import { createSetFilterStateFilter } from './set-filter-state.ts';

export type { FilterContext, FilterNode, HttpFilterInstance } from './filter-context.ts';

type FilterFactory = (config: unknown, ctx: FilterContext, name: string) => HttpFilterInstance;

// Keys are the typed_config type names.
const FACTORIES = new Map<string, FilterFactory>([
  ['envoy.extensions.filters.http.compressor.v3.Compressor', createCompressorFilter],
  ['envoy.extensions.filters.http.cors.v3.Cors', createCorsFilter],
  ['envoy.extensions.filters.http.decompressor.v3.Decompressor', createDecompressorFilter],
  ['envoy.extensions.filters.http.ext_authz.v3.ExtAuthz', createExtAuthzFilter],
  ['envoy.extensions.filters.http.fault.v3.HTTPFault', createFaultFilter],
  ['envoy.extensions.filters.http.grpc_stats.v3.FilterConfig', createGrpcStatsFilter],
  ['envoy.extensions.filters.http.grpc_web.v3.GrpcWeb', createGrpcWebFilter],
  ['envoy.extensions.filters.http.health_check.v3.HealthCheck', createHealthCheckFilter],
  ['io.istio.http.peer_metadata.Config', createPeerMetadataFilter],
  ['io.istio.http.connect_authority.Config', createConnectAuthorityFilter],
  ['io.istio.http.connect_baggage.Config', createConnectBaggageFilter],
  ['istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig', createIstioAlpnFilter],
  ['stats.PluginConfig', createIstioStatsFilter],
  ['envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication', createJwtAuthnFilter],
  ['envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit', createLocalRateLimitFilter],
  ['envoy.extensions.filters.http.ratelimit.v3.RateLimit', createRateLimitFilter],
  ['envoy.extensions.filters.http.rbac.v3.RBAC', createRbacFilter],
  ['envoy.extensions.filters.http.set_filter_state.v3.Config', createSetFilterStateFilter],
]);

export function createHttpFilters(filters: HttpFilterConfig[], ctx: FilterContext): HttpFilterInstance[] {
  const out: HttpFilterInstance[] = [];
  for (const f of filters) {
    if (f.type === 'envoy.extensions.filters.http.router.v3.Router') continue; // the router runs last, built in
    const factory = FACTORIES.get(f.type);
    if (factory === undefined) throw new Error(`http filter '${f.name}' (${f.type}) is not implemented`);
    out.push(factory(f.config, ctx, f.name));
  }
  return out;
}
