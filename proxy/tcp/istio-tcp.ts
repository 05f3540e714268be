// Istio's network filters on a tcp_proxy connection: the metadata exchange (a header at the start
// of each direction when TLS negotiated its ALPN protocol, on the listener's side for the
// downstream peer and in the cluster's filters for the upstream one) and istio.stats' TCP metrics
// (istio_tcp_connections_opened_total / _closed_total, istio_tcp_sent_bytes_total /
// _received_bytes_total), labelled as the HTTP ones with request_protocol tcp.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Cluster, IstioStatsConfig, MetadataExchangeConfig } from '../config/model.ts';
import { ExchangeReader, exchangeHeader } from '../istio/exchange.ts';
import { destinationService, peerLabels, type Label, type Reporter } from '../istio/labels.ts';
import { IstioMetrics } from '../istio/metrics.ts';
import type { WorkloadLookup } from '../istio/workload-index.ts';
import { workloadFromStruct, type WorkloadMetadata } from '../istio/workload-metadata.ts';
import type { Store } from '../stats/index.ts';
import { tlsInfo } from '../transport/index.ts';
import type { FilterState } from '../filter-state/index.ts';
import { serverPrincipals } from '../listener/index.ts';

/** Who this proxy is: the bootstrap's node. */
export interface IstioNode {
  id: string;
  metadata: Record<string, unknown>;
}

/** What a tcp_proxy chain keeps for Istio's filters: built once per chain. */
export class IstioTcp {
  readonly self: WorkloadMetadata;
  readonly nodeId: string;
  readonly metrics: IstioMetrics | undefined;
  readonly reporter: Reporter;
  readonly metadataExchange: MetadataExchangeConfig | undefined;
  private readonly workloads: WorkloadLookup | undefined;

  constructor(store: Store, node: IstioNode | undefined, metadataExchange: MetadataExchangeConfig | undefined, stats: IstioStatsConfig | undefined, workloads?: WorkloadLookup) {
    this.self = workloadFromStruct(node?.metadata ?? {}, new Set());
    this.workloads = workloads;
    this.nodeId = node?.id ?? '';
    this.metadataExchange = metadataExchange;
    const version = node?.metadata.ISTIO_VERSION;
    this.metrics = stats === undefined ? undefined : new IstioMetrics(store, stats, typeof version === 'string' ? version : '');
    this.reporter = stats?.reporter === 'SERVER_GATEWAY' ? 'waypoint' : stats?.trafficDirection === 'INBOUND' ? 'destination' : 'source';
  }

  /** The exchange on a connection whose TLS negotiated the protocol: our header goes out, theirs is read. */
  exchange(socket: Socket, config: MetadataExchangeConfig | undefined): ExchangeReader | undefined {
    if (config === undefined || (socket as TLSSocket).alpnProtocol !== config.protocol) return undefined;
    socket.write(exchangeHeader(this.self, this.nodeId));
    return new ExchangeReader(new Set(config.additionalLabels));
  }

  /**
   * The peer one side's exchange found: its header's, or (enable_discovery) the workload at its
   * address when it sent none, ALPN included (Istio's setMetadataNotFoundFilterState).
   */
  peer(config: MetadataExchangeConfig | undefined, exchange: ExchangeReader | undefined, address: () => string | undefined): WorkloadMetadata | undefined {
    return exchange !== undefined && !exchange.missing ? exchange.peer : this.discover(config, address);
  }

  /** enable_discovery: the workload at an address, when the exchange's config asks for it. */
  discover(config: MetadataExchangeConfig | undefined, address: () => string | undefined): WorkloadMetadata | undefined {
    if (config?.enableDiscovery !== true || this.workloads === undefined) return undefined;
    const ip = address();
    return ip === undefined ? undefined : this.workloads.lookup(ip);
  }
}

/** One connection's Istio metrics: opened once the peer is known (or at close), the rest at close. */
export class IstioTcpReport {
  private readonly istio: IstioTcp;
  private labels: Label[] | undefined;

  constructor(istio: IstioTcp) {
    this.istio = istio;
  }

  /** connections_opened is counted (once per connection). */
  get reported(): boolean {
    return this.labels !== undefined;
  }

  /** The peer is known (read, or known to be absent): connections_opened with the labels (a waypoint's endpoint: its upstream workload). */
  opened(downstream: Socket, state: FilterState | undefined, upstream: Socket | undefined, peer: WorkloadMetadata | undefined, endpoint: WorkloadMetadata | undefined, cluster: Cluster | undefined, flags: string): void {
    const metrics = this.istio.metrics;
    if (metrics === undefined || this.labels !== undefined) return;
    const reporter = this.istio.reporter;
    const server = reporter !== 'source';
    // The server side's as the HTTP filter's (io.istio.network.authn's first); the client's from the upstream TLS.
    const tls = server || upstream === undefined ? undefined : tlsInfo(upstream);
    const { peer: peerSan, local: localSan } = server ? serverPrincipals(downstream, state) : { peer: tls?.peerUriSans[0] ?? '', local: tls?.localUriSans[0] ?? '' };
    const labels = peerLabels({
      reporter,
      self: this.istio.self,
      peer,
      endpoint,
      ...destinationService('', undefined, cluster?.name, cluster?.istioService),
      peerSan,
      localSan,
    });
    labels.push({ name: 'request_protocol', value: 'tcp' });
    labels.push({ name: 'response_flags', value: flags });
    // Known on the server side only, as in Istio's filter.
    labels.push({ name: 'connection_security_policy', value: !server ? 'unknown' : peerSan !== '' && localSan !== '' ? 'mutual_tls' : 'none' });
    this.labels = labels;
    metrics.count('tcp_connections_opened_total', labels);
  }

  closed(sentBytes: number, receivedBytes: number): void {
    const metrics = this.istio.metrics;
    if (metrics === undefined || this.labels === undefined) return;
    metrics.count('tcp_sent_bytes_total', this.labels, sentBytes);
    metrics.count('tcp_received_bytes_total', this.labels, receivedBytes);
    metrics.count('tcp_connections_closed_total', this.labels);
  }
}
