// How the primary reaches a gRPC server the bootstrap names (the ADS management server, an SDS
// server): its target, from google_grpc.target_uri or the first endpoint of the static cluster
// envoy_grpc names (a Unix socket too, as pilot-agent serves xDS and SDS); and the node it
// introduces itself as.
import type { JsonObject, NodeInfo } from '../../xds-client/index.ts';
import type { Cluster, GrpcServiceRef, Node } from '../config/model.ts';

/** The gRPC target of `service`; throws a one-line error naming `what` when it has no address. */
export function grpcTarget(service: GrpcServiceRef, clusters: readonly Cluster[], what: string): string {
  if (service.targetUri !== undefined) return service.targetUri;
  const cluster = clusters.find((c) => c.name === service.clusterName);
  const host = cluster?.loadAssignment.endpoints[0]?.lbEndpoints[0]?.address;
  if (host === undefined) {
    throw new Error(`${what}: cluster '${service.clusterName}' has no endpoint (give the server's address in its load_assignment)`);
  }
  // gRPC's Unix targets: unix:relative/path, unix:///absolute/path, unix-abstract:name.
  if (host.pipe === true) {
    if (host.address.startsWith('@')) return `unix-abstract:${host.address.slice(1)}`;
    return host.address.startsWith('/') ? `unix://${host.address}` : `unix:${host.address}`;
  }
  return host.address.includes(':') ? `[${host.address}]:${host.port}` : `${host.address}:${host.port}`;
}

export function nodeInfo(bootNode: Node): NodeInfo {
  const { id, cluster, metadata, locality } = bootNode;
  const node: NodeInfo = { id, cluster, metadata: metadata as JsonObject };
  if (locality !== undefined) node.locality = { region: locality.region, zone: locality.zone, sub_zone: locality.subZone };
  return node;
}
