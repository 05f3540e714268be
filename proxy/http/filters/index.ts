// The HTTP filters that run before the router, built once per connection manager from its
// http_filters list. A filter returns true to continue, false when it answered the request itself,
// or a promise of either.
import type { HttpFilter } from '../../config/model.ts';
import type { Store } from '../../stats/index.ts';
import type { HttpStream } from '../stream.ts';

export interface HttpFilterInstance {
  decodeHeaders(stream: HttpStream): boolean | Promise<boolean>;
}

export interface FilterContext {
  store: Store;
  statPrefix: string;
  log(line: string): void;
}

type FilterFactory = (config: unknown, ctx: FilterContext, name: string) => HttpFilterInstance;

// Filled as filters are implemented; keys are the typed_config type names.
const FACTORIES = new Map<string, FilterFactory>();

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
