// envoy.transport_sockets.internal_upstream on a cluster: which metadata an internal connection
// carries to the internal listener (passthrough_metadata: a namespace of the host's metadata or
// of the cluster's), around an inner transport socket (raw_buffer or TLS) the cluster translates.
import { indexPath, joinPath } from '../errors.ts';
import { INTERNAL_UPSTREAM_TYPE } from '../extensions.ts';
import type { MetadataPassthrough } from '../model.ts';
import { list, obj, reject, str } from './common.ts';
import type { Raw } from './common.ts';

/**
 * The cluster's internal_upstream settings and its inner transport socket (with its path), or
 * undefined when the transport socket is another.
 */
export function internalUpstream(raw: Raw | undefined, path: string, clusterMetadata: Raw | undefined): { passthrough: MetadataPassthrough[]; inner: Raw | undefined; innerPath: string } | undefined {
  const config = obj(raw ?? {}, 'typed_config');
  if (config?.['@type'] !== INTERNAL_UPSTREAM_TYPE) return undefined;
  const at = joinPath(path, 'typed_config');
  const filterMetadata = obj(clusterMetadata ?? {}, 'filter_metadata') ?? {};
  const passthrough = list(config, 'passthrough_metadata').map((source, i): MetadataPassthrough => {
    const sourcePath = indexPath(joinPath(at, 'passthrough_metadata'), i);
    const name = str(source, 'name');
    const kind = obj(source, 'kind') ?? {};
    if (kind.host !== undefined) return { kind: 'host', name };
    if (kind.cluster !== undefined) return { kind: 'cluster', name, value: filterMetadata[name] };
    return reject(joinPath(sourcePath, 'kind'), 'not supported by Legate: metadata passed through from the request or route', 'use kind host or cluster (an internal connection is made per host)');
  });
  return { passthrough, inner: obj(config, 'transport_socket'), innerPath: joinPath(at, 'transport_socket') };
}
