// The HTTP filters that run before the router, built once per connection manager from its
// http_filters list. Each implements the hooks of http-filter/ it needs; the router, last in the
// chain, is added by the connection manager.
import type { HttpFilter as HttpFilterConfig } from '../../config/model.ts';
import type { FilterContext, HttpFilterInstance } from './filter-context.ts';

export type { FilterContext, FilterNode, HttpFilterInstance } from './filter-context.ts';

type FilterFactory = (config: unknown, ctx: FilterContext, name: string) => HttpFilterInstance;

// Keys are the typed_config type names. A filter's implementation is imported when a config first
// names it, so a worker holds only the filters its listeners use (see proxy/server/README.md,
// Memory): the worker awaits loadHttpFilters for a snapshot before it builds the snapshot's
// connection managers, which stays synchronous.
const MODULES = new Map<string, () => Promise<FilterFactory>>([
  ['envoy.extensions.filters.http.compressor.v3.Compressor', async () => (await import('./compressor.ts')).createCompressorFilter],
  ['envoy.extensions.filters.http.cors.v3.Cors', async () => (await import('./cors.ts')).createCorsFilter],
  ['envoy.extensions.filters.http.decompressor.v3.Decompressor', async () => (await import('./decompressor.ts')).createDecompressorFilter],
  ['envoy.extensions.filters.http.ext_authz.v3.ExtAuthz', async () => (await import('./ext-authz.ts')).createExtAuthzFilter],
  ['envoy.extensions.filters.http.fault.v3.HTTPFault', async () => (await import('./fault.ts')).createFaultFilter],
  ['envoy.extensions.filters.http.grpc_stats.v3.FilterConfig', async () => (await import('./grpc-stats.ts')).createGrpcStatsFilter],
  ['envoy.extensions.filters.http.grpc_web.v3.GrpcWeb', async () => (await import('./grpc-web.ts')).createGrpcWebFilter],
  ['envoy.extensions.filters.http.health_check.v3.HealthCheck', async () => (await import('./health-check.ts')).createHealthCheckFilter],
  ['io.istio.http.peer_metadata.Config', async () => (await import('./istio/peer-metadata.ts')).createPeerMetadataFilter],
  ['io.istio.http.connect_authority.Config', async () => (await import('./istio/connect-authority.ts')).createConnectAuthorityFilter],
  ['io.istio.http.connect_baggage.Config', async () => (await import('./istio/connect-baggage.ts')).createConnectBaggageFilter],
  ['istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig', async () => (await import('./istio/alpn.ts')).createIstioAlpnFilter],
  ['stats.PluginConfig', async () => (await import('./istio/stats.ts')).createIstioStatsFilter],
  ['envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication', async () => (await import('./jwt-authn.ts')).createJwtAuthnFilter],
  ['envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit', async () => (await import('./local-ratelimit.ts')).createLocalRateLimitFilter],
  ['envoy.extensions.filters.http.ratelimit.v3.RateLimit', async () => (await import('./ratelimit.ts')).createRateLimitFilter],
  ['envoy.extensions.filters.http.rbac.v3.RBAC', async () => (await import('./rbac.ts')).createRbacFilter],
  ['envoy.extensions.filters.http.set_filter_state.v3.Config', async () => (await import('./set-filter-state.ts')).createSetFilterStateFilter],
]);

const loaded = new Map<string, FilterFactory>();

/** Imports the implementations of these filters that are not loaded yet (an unknown type is left to createHttpFilters). */
export async function loadHttpFilters(filters: Iterable<HttpFilterConfig>): Promise<void> {
  const types = new Set<string>();
  for (const f of filters) if (!loaded.has(f.type) && MODULES.has(f.type)) types.add(f.type);
  await Promise.all([...types].map(async (type) => loaded.set(type, await MODULES.get(type)!())));
}

export function createHttpFilters(filters: HttpFilterConfig[], ctx: FilterContext): HttpFilterInstance[] {
  const out: HttpFilterInstance[] = [];
  for (const f of filters) {
    if (f.type === 'envoy.extensions.filters.http.router.v3.Router') continue; // the router runs last, built in
    const factory = loaded.get(f.type);
    if (factory === undefined) {
      throw new Error(MODULES.has(f.type) ? `http filter '${f.name}' (${f.type}) is not loaded: loadHttpFilters first` : `http filter '${f.name}' (${f.type}) is not implemented`);
    }
    out.push(factory(f.config, ctx, f.name));
  }
  return out;
}
