// istio.metadata_exchange as an HTTP filter (Istio's peer_metadata, io.istio.http.peer_metadata.Config).
// istio_headers: a sidecar tells its peer who it is in x-envoy-peer-metadata (its workload
// metadata, a Struct, base64) and x-envoy-peer-metadata-id (its node id) on requests it sends
// upstream, and the server side answers with its own on the response; each side reads the other's,
// removes the headers, and keeps the peer for istio.stats. A server answers with its metadata only
// when the request carried the headers, as Istio's. workload_discovery: the peer is looked up by
// address among the workloads istiod serves (the downstream by the connection's source, the
// upstream by the host's address). The discovery methods are tried in the config's order; the
// first that finds the peer wins.
import type { HeaderMap } from '../../../codec/index.ts';
import type { PeerDiscoveryMethod, PeerMetadataConfig } from '../../../config/model.ts';
import type { FilterStatus } from '../../../http-filter/index.ts';
import type { FilterContext, HttpFilterInstance } from '../filter-context.ts';
import type { HttpStream } from '../../stream.ts';
import { setPeer, type PeerSide } from '../../../istio/peer-state.ts';
import { decodePeerHeader, encodePeerHeader, workloadFromStruct, type WorkloadMetadata } from '../../../istio/workload-metadata.ts';
import { ipOf, upstreamWorkloadAddress, type WorkloadLookup } from '../../../istio/workload-index.ts';

const METADATA = 'x-envoy-peer-metadata';
const METADATA_ID = 'x-envoy-peer-metadata-id';
const ORIGIN_NETWORK = 'x-forwarded-network';
const CACHE_LIMIT = 500; // decoded peers by header value: a sidecar sees few distinct peers
const NOWHERE: WorkloadLookup = { lookup: () => undefined };

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
  private readonly network: string; // this proxy's NETWORK
  private readonly workloads: WorkloadLookup;
  private readonly decoded = new Map<string, WorkloadMetadata | undefined>();
  private readonly asked = new WeakMap<HttpStream, Asked>();
  // Istio removes the exchange headers whenever istio_headers is a discovery method.
  private readonly readsDownstreamHeaders: boolean;
  private readonly readsUpstreamHeaders: boolean;

  constructor(config: PeerMetadataConfig, ctx: FilterContext) {
    this.config = config;
    this.additionalLabels = new Set(config.additionalLabels);
    this.id = ctx.node?.id ?? '';
    this.value = encodePeerHeader(workloadFromStruct(ctx.node?.metadata ?? {}, this.additionalLabels));
    const network = ctx.node?.metadata.NETWORK;
    this.network = typeof network === 'string' ? network : '';
    this.workloads = ctx.workloads ?? NOWHERE;
    this.readsDownstreamHeaders = config.downstreamDiscovery.includes('istio_headers');
    this.readsUpstreamHeaders = config.upstreamDiscovery.includes('istio_headers');
  }

  decodeHeaders(stream: HttpStream): FilterStatus {
    const headers = stream.head.headers;
    if (this.config.downstreamDiscovery.length > 0) {
      this.discover(stream, 'downstream', this.config.downstreamDiscovery, headers);
      if (this.readsDownstreamHeaders) {
        delete headers[METADATA];
        delete headers[METADATA_ID];
      }
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
    if (this.config.upstreamDiscovery.length > 0) {
      this.discover(stream, 'upstream', this.config.upstreamDiscovery, headers);
      if (this.readsUpstreamHeaders) {
        delete headers[METADATA];
        delete headers[METADATA_ID];
      }
    }
    const propagation = this.config.downstreamPropagation;
    const asked = this.asked.get(stream);
    if (propagation !== undefined && asked !== undefined && !skipped(stream, propagation.skipExternalClusters)) {
      if (asked.id) headers[METADATA_ID] = this.id;
      if (asked.metadata) headers[METADATA] = this.value;
    }
    return 'continue';
  }

  private discover(stream: HttpStream, side: PeerSide, methods: readonly PeerDiscoveryMethod[], headers: HeaderMap): void {
    for (const method of methods) {
      const peer = method === 'istio_headers' ? this.fromHeaders(stream, side, headers) : this.fromWorkloads(stream, side, headers);
      if (peer !== undefined) {
        setPeer(stream, side, peer);
        return;
      }
    }
  }

  private fromHeaders(stream: HttpStream, side: PeerSide, headers: HeaderMap): WorkloadMetadata | undefined {
    // What the request carried, which the server side answers (only when this method ran, as Istio's).
    if (side === 'downstream' && this.config.downstreamPropagation !== undefined) {
      this.asked.set(stream, { id: headers[METADATA_ID] !== undefined, metadata: headers[METADATA] !== undefined });
    }
    const value = headers[METADATA];
    if (typeof value !== 'string' || value === '') return undefined;
    let peer = this.decoded.get(value);
    if (peer === undefined && !this.decoded.has(value)) {
      if (this.decoded.size >= CACHE_LIMIT) this.decoded.clear();
      peer = decodePeerHeader(value, this.additionalLabels);
      this.decoded.set(value, peer);
    }
    return peer;
  }

  private fromWorkloads(stream: HttpStream, side: PeerSide, headers: HeaderMap): WorkloadMetadata | undefined {
    if (side === 'downstream') {
      // A request from another network (through its east-west gateway) does not come from the address it arrives from.
      const origin = headers[ORIGIN_NETWORK];
      if (typeof origin === 'string' && origin !== this.network) return undefined;
      const connection = stream.connection;
      return this.workloads.lookup(connection.facts?.sourceIp ?? ipOf(connection.remoteAddress));
    }
    const host = stream.info.upstreamHost;
    const address = host === undefined ? undefined : upstreamWorkloadAddress(host, stream.info.upstreamHostMetadata);
    return address === undefined ? undefined : this.workloads.lookup(address);
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
