// The xDS resource types Legate subscribes to and the order Envoy requests them in.
import type { JsonObject } from './proto-json.ts';

export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
// SDS: Secret resources, by name, over ADS, from their own SDS server, or from files.
export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
// Istio's workloads (the metadata_discovery bootstrap extension), wildcard, named by uid.
export const WORKLOAD_TYPE_URL = 'type.googleapis.com/istio.workload.Workload';

// Clusters before their endpoints, listeners before their routes, clusters before listeners, so
// that nothing refers to what the proxy has not seen yet.
export const WARMING_ORDER = [CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL];

// Envoy subscribes to every listener and cluster (wildcard) and to routes and endpoints by name.
export const DEFAULT_WILDCARD_TYPES = [CLUSTER_TYPE_URL, LISTENER_TYPE_URL];

// Types whose state-of-the-world response lists every resource: an absent one is removed. (Istio's
// proxy takes each SotW workload response as the whole index too.)
export function isFullStateType(typeUrl: string): boolean {
  return typeUrl === LISTENER_TYPE_URL || typeUrl === CLUSTER_TYPE_URL || typeUrl === WORKLOAD_TYPE_URL;
}

export function warmingRank(typeUrl: string): number {
  const rank = WARMING_ORDER.indexOf(typeUrl);
  return rank === -1 ? WARMING_ORDER.length : rank;
}

// A ClusterLoadAssignment is named by cluster_name, a Workload by uid; every other resource by name.
export function resourceNameOf(typeUrl: string, resource: JsonObject): string {
  const name = typeUrl === ENDPOINT_TYPE_URL ? resource.cluster_name : typeUrl === WORKLOAD_TYPE_URL ? resource.uid : resource.name;
  return typeof name === 'string' ? name : '';
}
