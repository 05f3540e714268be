// envoy.transport_sockets.internal_upstream on a cluster: which metadata an internal connection
// carries to the internal listener (passthrough_metadata: a namespace of the host's metadata or
// of the cluster's), around an inner transport socket that must be raw_buffer here.
import { indexPath, joinPath } from '../errors.ts';
import { INTERNAL_UPSTREAM_TYPE, RAW_BUFFER_TYPE } from '../extensions.ts';
import type { MetadataPassthrough } from '../model.ts';
import { list, obj, reject, str } from './common.ts';
import type { Raw } from './common.ts';

const RAW_NAMES = ['envoy.transport_sockets.raw_buffer', 'raw_buffer'];

/** The cluster's internal_upstream settings, or undefined when its transport socket is another. */
export function internalUpstream(raw: Raw | undefined, path: string, clusterMetadata: Raw | undefined): { passthrough: MetadataPassthrough[] } | undefined {
  const config = obj(raw ?? {}, 'typed_config');
  if (config?.['@type'] !== INTERNAL_UPSTREAM_TYPE) return undefined;
  const at = joinPath(path, 'typed_config');
  const inner = obj(config, 'transport_socket') ?? {};
  const innerType = obj(inner, 'typed_config')?.['@type'];
  if (innerType !== RAW_BUFFER_TYPE && !(innerType === undefined && RAW_NAMES.includes(str(inner, 'name')))) {
    reject(joinPath(at, 'transport_socket'), 'not supported by Legate: a transport socket other than raw_buffer inside internal_upstream', 'use envoy.transport_sockets.raw_buffer (the connection stays in process)');
  }
  const filterMetadata = obj(clusterMetadata ?? {}, 'filter_metadata') ?? {};
  const passthrough = list(config, 'passthrough_metadata').map((source, i): MetadataPassthrough => {
    const sourcePath = indexPath(joinPath(at, 'passthrough_metadata'), i);
    const name = str(source, 'name');
    const kind = obj(source, 'kind') ?? {};
    if (kind.host !== undefined) return { kind: 'host', name };
    if (kind.cluster !== undefined) return { kind: 'cluster', name, value: filterMetadata[name] };
    return reject(joinPath(sourcePath, 'kind'), 'not supported by Legate: metadata passed through from the request or route', 'use kind host or cluster (an internal connection is made per host)');
  });
  return { passthrough };
}
