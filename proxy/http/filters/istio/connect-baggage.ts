// Istio's io.istio.http.connect_baggage (older waypoints' connect_terminate; istio/proxy's
// source/extensions/filters/http/connect_baggage, no fields): a request with a `baggage` header
// (its values joined) puts the peer it describes (proxy/istio/baggage.ts) in the stream's filter
// state as wasm.downstream_peer, with wasm.downstream_peer_id "unknown", both shared once with the
// upstream connection. Through the internal listener behind connect_terminate (main_internal) they
// reach istio.stats there, which reports that peer as the source. Without the header: nothing.
import { StringAccessor } from '../../../filter-state/index.ts';
import type { FilterStatus } from '../../../http-filter/index.ts';
import { workloadFromBaggage } from '../../../istio/baggage.ts';
import { DOWNSTREAM_PEER_ID_KEY, DOWNSTREAM_PEER_KEY, DownstreamPeer } from '../../../istio/peer-state.ts';
import type { HttpStream } from '../../stream.ts';
import type { HttpFilterInstance } from '../filter-context.ts';

const SHARED = { lifeSpan: 'FilterChain' as const, sharing: 'ONCE' as const };

export class ConnectBaggageFilter implements HttpFilterInstance {
  decodeHeaders(stream: HttpStream): FilterStatus {
    const header = stream.head.headers.baggage;
    if (header === undefined) return 'continue';
    const value = Array.isArray(header) ? header.join(',') : String(header);
    const state = stream.ownFilterState();
    state.set(DOWNSTREAM_PEER_KEY, new DownstreamPeer(workloadFromBaggage(value)), SHARED);
    state.set(DOWNSTREAM_PEER_ID_KEY, new StringAccessor('unknown'), SHARED);
    return 'continue';
  }
}

export function createConnectBaggageFilter(): HttpFilterInstance {
  return new ConnectBaggageFilter();
}
