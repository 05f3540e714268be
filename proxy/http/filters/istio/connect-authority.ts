// Istio's io.istio.http.connect_authority (older waypoints' connect_terminate): on a route whose
// typed_per_filter_config enables it, the request's authority (a CONNECT's "ip:port") and the
// route's tunnel port go into the stream's filter state as istio.set_internal_dst_address, shared
// with the upstream connection once. Through the internal listener (main_internal) that object
// reaches set_internal_dst_address, which restores the destination from it when no endpoint
// metadata gives one. Where no route enables it the filter does nothing, as Istio's.
import type { ConnectAuthorityPerRoute } from '../../../config/model.ts';
import { CONNECT_AUTHORITY_KEY, ConnectAuthority } from '../../../filter-state/index.ts';
import type { FilterStatus } from '../../../http-filter/index.ts';
import type { HttpStream } from '../../stream.ts';
import type { HttpFilterInstance } from '../filter-context.ts';
import { isDisabled, perRouteConfig } from '../per-route-config.ts';

export class ConnectAuthorityFilter implements HttpFilterInstance {
  private readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const config = perRouteConfig<ConnectAuthorityPerRoute>(stream, this.name);
    if (config === undefined || isDisabled(config) || !config.enabled) return 'continue';
    const host = stream.head.headers.host;
    const authority = typeof host === 'string' ? host : '';
    stream.ownFilterState().set(CONNECT_AUTHORITY_KEY, new ConnectAuthority(authority, config.port), { sharing: 'ONCE' });
    return 'continue';
  }
}

export function createConnectAuthorityFilter(_config: unknown, _ctx: unknown, name: string): HttpFilterInstance {
  return new ConnectAuthorityFilter(name);
}
