// Istio's istio.set_internal_dst_address listener filter (istio.set_internal_dst_address.v1.Config,
// older istiods' connect_originate and waypoint internal listeners). On an internal listener's
// connection it reads the dynamic metadata namespace `tunnel` that the cluster's internal_upstream
// passed through from the endpoint (istiod wrote it on each workload endpoint):
// - `destination` ("ip:port", the workload) becomes the connection's local address (Envoy's
//   restoreLocalAddress): filter chain matching, %DOWNSTREAM_LOCAL_ADDRESS% (connect_originate's
//   CONNECT authority) and an ORIGINAL_DST cluster without an override see it;
// - `address` ("ip:port", where to tunnel: the workload's or its waypoint's HBONE port) is set in
//   the connection's filter state as Envoy's envoy.network.transport_socket.original_dst_address,
//   which an ORIGINAL_DST cluster connects to before anything else.
// A value that is not an address is skipped, as Istio's filter does. Without that namespace, its
// other source: the filter state object istio.set_internal_dst_address that Istio's
// connect_authority HTTP filter shared from connect_terminate (the CONNECT authority "ip:port" and
// a tunnel port): the authority becomes the local address, and the tunnel address is the
// authority with the tunnel port in place of its own (when that is not 0).
import type { Listener } from '../config/model.ts';
import { SET_INTERNAL_DST_ADDRESS_TYPE } from '../config/extensions.ts';
import { AddressObject, CONNECT_AUTHORITY_KEY, ConnectAuthority, FilterState, ORIGINAL_DST_ADDRESS_KEY } from '../filter-state/index.ts';
import type { ConnectionFacts } from './filter-chain.ts';
import { filterDisabled } from './filter-disabled.ts';

const NAMESPACE = 'tunnel';
/** Envoy's Network::DestinationAddress key: the ORIGINAL_DST cluster's override (upstream/original-dst-cluster.ts). */

/** The facts after the listener's set_internal_dst_address filters (the same facts when it has none). */
export function setInternalDstAddress(listener: Listener, metadata: Readonly<Record<string, unknown>> | undefined, facts: ConnectionFacts): ConnectionFacts {
  let result = facts;
  for (const filter of listener.listenerFilters) {
    if (filter.type !== SET_INTERNAL_DST_ADDRESS_TYPE || filterDisabled(filter.disabled, result.destinationPort)) continue;
    const tunnel = metadata?.[NAMESPACE];
    if (typeof tunnel !== 'object' || tunnel === null) {
      result = fromConnectAuthority(result);
      continue;
    }
    const { destination, address } = tunnel as { destination?: unknown; address?: unknown };
    const local = typeof destination === 'string' ? AddressObject.parse(destination) : undefined;
    if (local !== undefined) result = { ...result, destinationIp: local.ip, destinationPort: local.port };
    const target = typeof address === 'string' ? AddressObject.parse(address) : undefined;
    if (target !== undefined) result = withTunnelAddress(result, target);
  }
  return result;
}

// The authority connect_authority shared through the internal connection, if it is an address.
function fromConnectAuthority(facts: ConnectionFacts): ConnectionFacts {
  const object = facts.filterState?.get(CONNECT_AUTHORITY_KEY);
  if (!(object instanceof ConnectAuthority)) return facts;
  const local = AddressObject.parse(object.value);
  if (local === undefined) return facts;
  const restored = { ...facts, destinationIp: local.ip, destinationPort: local.port };
  return withTunnelAddress(restored, object.port > 0 ? new AddressObject(local.ip, object.port) : local);
}

// Envoy's DestinationAddress, read-only: where an ORIGINAL_DST cluster connects.
function withTunnelAddress(facts: ConnectionFacts, target: AddressObject): ConnectionFacts {
  facts.filterState ??= new FilterState();
  facts.filterState.set(ORIGINAL_DST_ADDRESS_KEY, target, { readOnly: true });
  return facts;
}
