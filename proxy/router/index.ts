// The router's public surface.
export { RouteTable } from './route-table.ts';
export type { CompiledVirtualHost, NoRouteResult, RouteMatchResult, RouteResult } from './route-table.ts';
export type { CompiledRoute } from './compiled-route.ts';
export type { ClusterChoice } from './cluster-picker.ts';
export type { HeaderMutator, MutableHeaderMap, ValueCompiler } from './header-mutation.ts';
export { HeaderOperations } from './header-mutation.ts';
export type { DownstreamConnection, HashResult } from './hash-policy.ts';
export { hash32 } from './hash.ts';
export { compileHeaderMatcher, compileQueryParameterMatcher, compileStringMatcher } from './match.ts';
export type { CompiledHeaderMatcher, StringPredicate } from './match.ts';
export { headerValue, requestHeaderGetter } from './request.ts';
export type { HeaderMap, RouteRequest } from './request.ts';
export { RouterFilter } from './router-filter.ts';
export type { RouterOptions, RouterStats, RouterStream } from './router-stream.ts';
export { RetryState, meshRetryPolicy } from './retry-state.ts';
export { stripHopByHop } from './hop-by-hop.ts';
export { streamDuration } from './timeouts.ts';
export type { StreamDuration, StreamDurationSource } from './timeouts.ts';
