// envoy.config.endpoint.v3.ClusterLoadAssignment -> ClusterLoadAssignment (overprovisioning
// factor 140 % unless given).
import { indexPath, joinPath } from '../errors.ts';
import type { ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints, SocketAddress } from '../model.ts';
import { list, num, obj, reject, socketAddress, str } from './common.ts';
import type { Raw } from './common.ts';

const DEFAULT_OVERPROVISIONING = 140;

export function translateLoadAssignment(raw: Raw, path: string): ClusterLoadAssignment {
  const endpointsPath = joinPath(path, 'endpoints');
  return {
    clusterName: str(raw, 'cluster_name'),
    endpoints: list(raw, 'endpoints').map((l, i) => localityEndpoints(l, indexPath(endpointsPath, i))),
    overprovisioningFactor: num(obj(raw, 'policy') ?? {}, 'overprovisioning_factor', DEFAULT_OVERPROVISIONING),
  };
}

function localityEndpoints(raw: Raw, path: string): LocalityLbEndpoints {
  const locality = obj(raw, 'locality') ?? {};
  const lbPath = joinPath(path, 'lb_endpoints');
  return {
    locality: { region: str(locality, 'region'), zone: str(locality, 'zone'), subZone: str(locality, 'sub_zone') },
    priority: num(raw, 'priority', 0),
    loadBalancingWeight: num(raw, 'load_balancing_weight', 0),
    lbEndpoints: list(raw, 'lb_endpoints').map((e, i) => lbEndpoint(e, indexPath(lbPath, i))),
  };
}

function lbEndpoint(raw: Raw, path: string): LbEndpoint {
  const endpoint = obj(raw, 'endpoint');
  const endpointPath = joinPath(path, 'endpoint');
  if (endpoint === undefined) return reject(endpointPath, 'required field is missing', 'set endpoint.address.socket_address');
  const addressRaw = obj(endpoint, 'address');
  const internal = obj(addressRaw ?? {}, 'envoy_internal_address');
  const address = internal !== undefined ? internalAddress(internal, joinPath(endpointPath, 'address.envoy_internal_address')) : socketAddress(addressRaw, joinPath(endpointPath, 'address'), 'address', true);
  if (address.address === '') reject(joinPath(endpointPath, 'address.socket_address.address'), 'required field is missing', 'set the host address');
  const result: LbEndpoint = {
    address,
    hostname: str(endpoint, 'hostname'),
    healthStatus: str(raw, 'health_status', 'UNKNOWN') as LbEndpoint['healthStatus'],
    loadBalancingWeight: num(raw, 'load_balancing_weight', 1),
    healthCheckPort: num(obj(endpoint, 'health_check_config') ?? {}, 'port_value', 0),
  };
  // The namespace a cluster's transport_socket_matches look at (Istio's tlsMode: istio).
  const filterMetadata = obj(obj(raw, 'metadata') ?? {}, 'filter_metadata');
  const match = obj(filterMetadata ?? {}, 'envoy.transport_socket_match');
  if (match !== undefined) result.transportSocketMatch = match;
  // What a cluster's internal_upstream may pass to the internal listener; kept for internal hosts only.
  if (address.internal !== undefined && filterMetadata !== undefined) result.metadata = filterMetadata;
  return result;
}

// envoy.config.core.v3.EnvoyInternalAddress: a connection to this worker's internal listener of that name.
function internalAddress(raw: Raw, path: string): SocketAddress {
  const serverListenerName = str(raw, 'server_listener_name');
  if (serverListenerName === '') reject(joinPath(path, 'server_listener_name'), 'required field is missing', 'name the internal listener to connect to');
  const endpointId = str(raw, 'endpoint_id');
  return { address: `envoy://${serverListenerName}/${endpointId}`, port: 0, internal: { serverListenerName, endpointId } };
}
