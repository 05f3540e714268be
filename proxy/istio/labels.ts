// The labels of Istio's standard metrics, as Istio's stats filter sets them (its populatePeerInfo):
// this proxy's side from its node metadata, the peer's from the metadata exchange, `unknown`
// (`latest` for a canonical revision) when nothing said; the peer's namespace from its SPIFFE
// principal first. Shared by the HTTP and the TCP istio.stats filters.
import type { WorkloadMetadata } from './workload-metadata.ts';

export type Reporter = 'source' | 'destination' | 'waypoint';

export interface Label {
  name: string;
  value: string;
}

export interface PeerFacts {
  reporter: Reporter;
  self: WorkloadMetadata; // this proxy
  peer: WorkloadMetadata | undefined; // the downstream peer for a server, the upstream one for a client
  endpoint?: WorkloadMetadata; // a waypoint's upstream peer
  serviceHost: string;
  serviceHostName: string;
  peerSan: string; // the peer's SPIFFE URI, '' when unknown
  localSan: string; // this proxy's
}

const UNKNOWN = 'unknown';
const SPECIAL_CLUSTERS = new Set(['BlackHoleCluster', 'PassthroughCluster', 'InboundPassthroughCluster', 'InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv6']);

export const or = (value: string | undefined, fallback: string): string => (value === undefined || value === '' ? fallback : value);

// The namespace in a SPIFFE principal: <domain>/ns/<namespace>/sa/<account>.
function namespaceOfPrincipal(principal: string): string {
  const at = principal.indexOf('/ns/');
  if (at < 0) return '';
  const rest = principal.slice(at + 4);
  const end = rest.indexOf('/');
  return end < 0 ? rest : rest.slice(0, end);
}

/**
 * destination_service and destination_service_name: the Host header (when the filter may fall
 * back to it), replaced by what istiod says of the cluster (metadata istio.services) or by the
 * name of Istio's special clusters and routes.
 */
export function destinationService(
  host: string, routeName: string | undefined, cluster: string | undefined, istioService: { host: string; name: string } | undefined,
): { serviceHost: string; serviceHostName: string } {
  let serviceHost = host;
  let serviceHostName = host;
  if (routeName === 'block_all') serviceHostName = 'BlackHoleCluster';
  else if (routeName === 'allow_any') serviceHostName = 'PassthroughCluster';
  else if (cluster !== undefined && SPECIAL_CLUSTERS.has(cluster)) serviceHostName = cluster;
  else if (istioService !== undefined) {
    if (istioService.host !== '') serviceHost = istioService.host;
    const dot = serviceHost.indexOf('.');
    serviceHostName = istioService.name !== '' ? istioService.name : dot < 0 ? serviceHost : serviceHost.slice(0, dot);
  }
  return { serviceHost, serviceHostName };
}

/** reporter, then the source_* and destination_* labels, in Istio's order. */
export function peerLabels(f: PeerFacts): Label[] {
  const { self, peer, reporter, serviceHost, serviceHostName, localSan } = f;
  // A client without the upstream's certificate takes the identity workload discovery gave the peer.
  const peerSan = f.peerSan !== '' || reporter !== 'source' ? f.peerSan : peer?.identity ?? '';
  const peerNamespace = or(namespaceOfPrincipal(peerSan), peer?.namespace ?? '');
  const labels: Label[] = [{ name: 'reporter', value: reporter }];
  const add = (name: string, value: string) => labels.push({ name, value });
  if (reporter !== 'source') {
    add('source_workload', or(peer?.workload, UNKNOWN));
    add('source_canonical_service', or(peer?.canonicalName, UNKNOWN));
    add('source_canonical_revision', or(peer?.canonicalRevision, 'latest'));
    add('source_workload_namespace', or(peerNamespace, UNKNOWN));
    add('source_principal', or(peerSan, UNKNOWN));
    add('source_app', or(peer?.app, UNKNOWN));
    add('source_version', or(peer?.version, UNKNOWN));
    add('source_cluster', or(peer?.cluster, UNKNOWN));
    if (reporter === 'waypoint') {
      const endpoint = f.endpoint;
      const canonical = or(endpoint?.canonicalName, UNKNOWN);
      add('destination_workload', or(endpoint?.workload, UNKNOWN));
      add('destination_workload_namespace', or(endpoint?.namespace, UNKNOWN));
      add('destination_principal', or(endpoint?.identity, UNKNOWN));
      add('destination_app', or(endpoint?.app, UNKNOWN));
      add('destination_version', or(endpoint?.version, UNKNOWN));
      add('destination_service', or(serviceHost, canonical));
      add('destination_canonical_service', canonical);
      add('destination_canonical_revision', or(endpoint?.canonicalRevision, UNKNOWN));
      add('destination_service_name', or(serviceHostName, canonical));
    } else {
      add('destination_workload', self.workload);
      add('destination_workload_namespace', self.namespace);
      add('destination_principal', or(localSan, UNKNOWN));
      add('destination_app', self.app);
      add('destination_version', self.version);
      add('destination_service', or(serviceHost, self.canonicalName));
      add('destination_canonical_service', self.canonicalName);
      add('destination_canonical_revision', self.canonicalRevision);
      add('destination_service_name', or(serviceHostName, self.canonicalName));
    }
    add('destination_service_namespace', self.namespace);
    add('destination_cluster', self.cluster);
    return labels;
  }
  add('source_workload', self.workload);
  add('source_canonical_service', self.canonicalName);
  add('source_canonical_revision', self.canonicalRevision);
  add('source_workload_namespace', self.namespace);
  add('source_principal', or(localSan, UNKNOWN));
  add('source_app', self.app);
  add('source_version', self.version);
  add('source_cluster', self.cluster);
  add('destination_workload', or(peer?.workload, UNKNOWN));
  add('destination_workload_namespace', or(peerNamespace, UNKNOWN));
  add('destination_principal', or(peerSan, UNKNOWN));
  add('destination_app', or(peer?.app, UNKNOWN));
  add('destination_version', or(peer?.version, UNKNOWN));
  add('destination_service', or(serviceHost, UNKNOWN));
  add('destination_canonical_service', or(peer?.canonicalName, UNKNOWN));
  add('destination_canonical_revision', or(peer?.canonicalRevision, 'latest'));
  add('destination_service_name', or(serviceHostName, UNKNOWN));
  add('destination_service_namespace', or(peerNamespace, UNKNOWN));
  add('destination_cluster', or(peer?.cluster, UNKNOWN));
  return labels;
}
