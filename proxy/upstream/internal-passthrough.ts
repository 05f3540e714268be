// What a connection to an internal listener carries as the listener's dynamic metadata: the
// cluster's internal_upstream passthrough_metadata, each namespace from the host's metadata or the
// cluster's, the later overriding the earlier (Envoy's InternalUpstreamTransport).
import type { Cluster } from '../config/model.ts';
import type { Host } from './host.ts';

export function passthroughMetadata(cluster: Cluster, host: Host): Record<string, unknown> | undefined {
  const sources = cluster.internalUpstream?.passthrough;
  if (sources === undefined) return undefined;
  const metadata: Record<string, unknown> = {};
  for (const source of sources) {
    const value = source.kind === 'cluster' ? source.value : host.metadata?.[source.name];
    if (value !== undefined) metadata[source.name] = value;
  }
  return metadata;
}
