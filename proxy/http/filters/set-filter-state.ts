// envoy.filters.http.set_filter_state: when the request headers arrive, its on_request_headers
// values are set on the stream's filter state (life span FilterChain, as Envoy's filter), where
// later filters, RBAC, the access log and the router (objects shared with the upstream) read them.
// Istio's connect_terminate sets the CONNECT authority and the peer's identity this way.
import type { SetFilterStateConfig } from '../../config/model.ts';
import type { FilterStatus } from '../../http-filter/index.ts';
import { FilterStateSetter } from '../../listener/index.ts';
import type { HttpStream } from '../stream.ts';
import type { HttpFilterInstance } from './filter-context.ts';

export class SetFilterStateFilter implements HttpFilterInstance {
  private readonly setter: FilterStateSetter;

  constructor(config: SetFilterStateConfig) {
    this.setter = new FilterStateSetter(config.onRequestHeaders, 'FilterChain');
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    this.setter.apply(stream.info, stream.ownFilterState());
    return 'continue';
  }
}

export function createSetFilterStateFilter(config: unknown): HttpFilterInstance {
  return new SetFilterStateFilter(config as SetFilterStateConfig);
}
