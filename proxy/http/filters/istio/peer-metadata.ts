// istio.metadata_exchange as an HTTP filter (Istio's peer_metadata, io.istio.http.peer_metadata.Config)
// with the istio_headers method: a sidecar tells its peer who it is in x-envoy-peer-metadata (its
// workload metadata, a Struct, base64) and x-envoy-peer-metadata-id (its node id) on requests it
// sends upstream, and the server side answers with its own on the response; each side reads the
// other's, removes the headers, and keeps the peer for istio.stats. A server answers with its
// metadata only when the request carried the headers, as Istio's.
import type { HeaderMap } from '../../../codec/index.ts';
import type { PeerMetadataConfig } from '../../../config/model.ts';
import type { FilterStatus } from '../../../http-filter/index.ts';
import type { FilterContext, HttpFilterInstance } from '../filter-context.ts';
import type { HttpStream } from '../../stream.ts';
import { setPeer, type PeerSide } from '../../../istio/peer-state.ts';
import { decodePeerHeader, encodePeerHeader, workloadFromStruct, type WorkloadMetadata } from '../../../istio/workload-metadata.ts';

const METADATA = 'x-envoy-peer-metadata';
const METADATA_ID = 'x-envoy-peer-metadata-id';
const CACHE_LIMIT = 500; // decoded peers by header value: a sidecar sees few distinct peers

/** What a request told the server side: it answers with what it was asked for. */
interface Asked {
  id: boolean;
  metadata: boolean;
}

export class PeerMetadataFilter implements HttpFilterInstance {
  private readonly config: PeerMetadataConfig;
  private readonly additionalLabels: ReadonlySet<string>;
  private readonly id: string;
  private readonly value: string;
  private readonly decoded = new Map<string, WorkloadMetadata | undefined>();
  private readonly asked = new WeakMap<HttpStream, Asked>();

  constructor(config: PeerMetadataConfig, ctx: FilterContext) {
    this.config = config;
    this.additionalLabels = new Set(config.additionalLabels);
    this.id = ctx.node?.id ?? '';
    this.value = encodePeerHeader(workloadFromStruct(ctx.node?.metadata ?? {}, this.additionalLabels));
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const headers = stream.head.headers;
    if (this.config.downstreamDiscovery) {
      this.discover(stream, 'downstream', headers);
      if (this.config.downstreamPropagation !== undefined) this.asked.set(stream, { id: headers[METADATA_ID] !== undefined, metadata: headers[METADATA] !== undefined });
      delete headers[METADATA];
      delete headers[METADATA_ID];
    }
    const propagation = this.config.upstreamPropagation;
    if (propagation !== undefined && !skipped(stream, propagation.skipExternalClusters)) {
      headers[METADATA_ID] = this.id;
      headers[METADATA] = this.value;
    }
    return 'continue';
  }

  encodeHeaders(stream: HttpStream, response: { headers: HeaderMap }): FilterStatus {
    const headers = response.headers;
    if (this.config.upstreamDiscovery) {
      this.discover(stream, 'upstream', headers);
      delete headers[METADATA];
      delete headers[METADATA_ID];
    }
    const propagation = this.config.downstreamPropagation;
    const asked = this.asked.get(stream);
    if (propagation !== undefined && asked !== undefined && !skipped(stream, propagation.skipExternalClusters)) {
      if (asked.id) headers[METADATA_ID] = this.id;
      if (asked.metadata) headers[METADATA] = this.value;
    }
    return 'continue';
  }

  private discover(stream: HttpStream, side: PeerSide, headers: HeaderMap): void {
    const value = headers[METADATA];
    if (typeof value !== 'string' || value === '') return;
    let peer = this.decoded.get(value);
    if (peer === undefined && !this.decoded.has(value)) {
      if (this.decoded.size >= CACHE_LIMIT) this.decoded.clear();
      peer = decodePeerHeader(value, this.additionalLabels);
      this.decoded.set(value, peer);
    }
    if (peer !== undefined) setPeer(stream, side, peer);
  }
}

// skip_external_clusters: PassthroughCluster is outside the mesh. (Istio also reads the cluster's
// istio.external / disable_mx metadata, which Legate's clusters do not keep.)
function skipped(stream: HttpStream, skipExternal: boolean): boolean {
  return skipExternal && stream.cluster?.name === 'PassthroughCluster';
}

export function createPeerMetadataFilter(config: unknown, ctx: FilterContext): HttpFilterInstance {
  return new PeerMetadataFilter(config as PeerMetadataConfig, ctx);
}
