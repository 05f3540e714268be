// The HTTP filters that run before the router, built once per connection manager from its
// http_filters list. A filter returns true to continue, false when it answered the request itself,
// or a promise of either.
import type { HttpFilter } from '../../config/model.ts';
import type { RateLimitService } from '../../ratelimit/index.ts';
import type { Store } from '../../stats/index.ts';
import type { HttpStream } from '../stream.ts';
import { createFaultFilter } from './fault.ts';
import { createLocalRateLimitFilter } from './local-ratelimit.ts';
import { createRateLimitFilter } from './ratelimit.ts';

export interface HttpFilterInstance {
  decodeHeaders(stream: HttpStream): boolean | Promise<boolean>;
}

export interface FilterContext {
  store: Store;
  statPrefix: string;
  log(line: string): void;
  /** Worker processes serving this config (1 unless given): local rate limits split by it. */
  workers?: number;
  /** node.cluster, Envoy's local service cluster (the source_cluster rate limit descriptor). */
  localCluster?: string;
  /** The embedded rate limit service of node.metadata["legate.ratelimit"], when configured. */
  rateLimitService?: RateLimitService;
}

type FilterFactory = (config: unknown, ctx: FilterContext, name: string) => HttpFilterInstance;

// Filled as filters are implemented; keys are the typed_config type names.
const FACTORIES = new Map<string, FilterFactory>([
  ['envoy.extensions.filters.http.fault.v3.HTTPFault', createFaultFilter],
  ['envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit', createLocalRateLimitFilter],
  ['envoy.extensions.filters.http.ratelimit.v3.RateLimit', createRateLimitFilter],
]);

export function createHttpFilters(filters: HttpFilter[], ctx: FilterContext): HttpFilterInstance[] {
  const out: HttpFilterInstance[] = [];
  for (const f of filters) {
    if (f.type === 'envoy.extensions.filters.http.router.v3.Router') continue; // the router runs last, built in
    const factory = FACTORIES.get(f.type);
    if (factory === undefined) throw new Error(`http filter '${f.name}' (${f.type}) is not implemented`);
    out.push(factory(f.config, ctx, f.name));
  }
  return out;
}
