// istio.stats as an HTTP filter (Istio's istio_stats, stats.PluginConfig): Istio's standard
// metrics for every request, tagged as Istio's proxy tags them, so Prometheus, Kiali and Istio's
// Grafana dashboards read Legate as they read Envoy. At the end of each stream:
//   istiocustom.istio_requests_total (counter), istio_request_duration_milliseconds,
//   istio_request_bytes and istio_response_bytes (histograms)
// with reporter (source on an outbound listener, destination inbound, waypoint for SERVER_GATEWAY),
// source_* and destination_* workload, namespace, principal, app, version, canonical service and
// revision, cluster (this proxy's from its node metadata, the peer's from istio.metadata_exchange),
// destination_service[_name|_namespace], request_protocol, response_code, grpc_response_status,
// response_flags and connection_security_policy. Prometheus names them without the envoy_ prefix.
import { formatResponseFlags } from '../../../access-log/index.ts';
import type { IstioStatsConfig } from '../../../config/model.ts';
import { grpcStatusOf, httpToGrpcStatus, isGrpcRequest } from '../../../grpc/index.ts';
import type { FilterContext, HttpFilterInstance } from '../filter-context.ts';
import type { HttpStream } from '../../stream.ts';
import { grpcMessageCounts } from '../grpc-message-counts.ts';
import { destinationService, peerLabels, type Label, type Reporter } from '../../../istio/labels.ts';
import { IstioMetrics } from '../../../istio/metrics.ts';
import { downstreamPeerIn, peerOf } from '../../../istio/peer-state.ts';
import { workloadFromStruct, type WorkloadMetadata } from '../../../istio/workload-metadata.ts';
import { serverPrincipals } from '../../../listener/index.ts';
import type { ClusterManager } from '../../../upstream/index.ts';

export class IstioStatsFilter implements HttpFilterInstance {
  private readonly clusters: ClusterManager | undefined;
  private readonly reporter: Reporter;
  private readonly self: WorkloadMetadata; // this proxy, from its node metadata
  private readonly disableHostHeaderFallback: boolean;
  private readonly metrics: IstioMetrics;

  constructor(config: IstioStatsConfig, ctx: FilterContext) {
    this.clusters = ctx.clusters;
    this.reporter = config.reporter === 'SERVER_GATEWAY' ? 'waypoint' : config.trafficDirection === 'INBOUND' ? 'destination' : 'source';
    this.self = workloadFromStruct(ctx.node?.metadata ?? {}, new Set());
    this.disableHostHeaderFallback = config.disableHostHeaderFallback;
    const version = ctx.node?.metadata.ISTIO_VERSION;
    this.metrics = new IstioMetrics(ctx.store, config, typeof version === 'string' ? version : '');
  }

  onStreamComplete(stream: HttpStream): void {
    const info = stream.info;
    const grpc = stream.head.path !== '' && isGrpcRequest(stream.head);
    const labels = this.peerLabels(stream);
    labels.push({ name: 'request_protocol', value: grpc ? 'grpc' : 'http' });
    labels.push({ name: 'response_code', value: String(info.responseCode) });
    let grpcStatus = '';
    if (grpc) {
      const code = grpcStatusOf(info.responseTrailers) ?? grpcStatusOf(info.responseHeaders) ?? (info.responseCode === 0 ? undefined : httpToGrpcStatus(info.responseCode));
      grpcStatus = code === undefined ? '' : String(code);
    }
    labels.push({ name: 'grpc_response_status', value: grpcStatus });
    labels.push({ name: 'response_flags', value: formatResponseFlags(info.responseFlags) });
    labels.push({ name: 'connection_security_policy', value: this.securityPolicy(stream) });

    this.metrics.count('requests_total', labels);
    this.metrics.record('request_duration_milliseconds', labels, info.durationMs ?? info.elapsedMs(), 'ms');
    this.metrics.record('request_bytes', labels, requestBytes(stream), 'bytes');
    this.metrics.record('response_bytes', labels, responseBytes(stream), 'bytes');
    // The messages grpc_stats counted (emit_filter_state), as Istio's filter reads them.
    const messages = grpc ? grpcMessageCounts(stream) : undefined;
    if (messages !== undefined) {
      this.metrics.count('request_messages_total', labels, messages.request);
      this.metrics.count('response_messages_total', labels, messages.response);
    }
  }

  // Principals on the server side: io.istio.network.authn's in the filter state, else the
  // downstream connection's certificates; the client side's upstream TLS session is not exposed to
  // HTTP filters yet (unknown).
  private peerLabels(stream: HttpStream): Label[] {
    const server = this.reporter !== 'source';
    const principals = server ? serverPrincipals(stream.connection.socket, stream.info.filterState) : undefined;
    const cluster = stream.cluster?.name;
    const host = this.disableHostHeaderFallback ? '' : stream.info.authority ?? '';
    return peerLabels({
      reporter: this.reporter,
      self: this.self,
      // The server side's peer: the peer metadata filter's, else one in the filter state (connect_baggage's, shared from connect_terminate).
      peer: server ? (peerOf(stream, 'downstream') ?? downstreamPeerIn(stream.info.filterState)) : peerOf(stream, 'upstream'),
      endpoint: this.reporter === 'waypoint' ? peerOf(stream, 'upstream') : undefined,
      ...destinationService(host, stream.info.routeName, cluster, cluster === undefined ? undefined : this.clusters?.get(cluster)?.config.istioService),
      peerSan: principals?.peer ?? '',
      localSan: principals?.local ?? '',
    });
  }

  // Known on the server side only: mutual_tls when both ends have a principal.
  private securityPolicy(stream: HttpStream): string {
    if (this.reporter === 'source') return 'unknown';
    const { peer, local } = serverPrincipals(stream.connection.socket, stream.info.filterState);
    return peer !== '' && local !== '' ? 'mutual_tls' : 'none';
  }
}

// Envoy counts wire bytes, headers included: the request line and headers as sent, then the body.
function requestBytes(stream: HttpStream): number {
  let bytes = stream.info.bytesReceived + stream.head.method.length + stream.head.path.length + 12;
  for (const name in stream.head.headers) bytes += headerBytes(name, stream.head.headers[name]);
  return bytes;
}

function responseBytes(stream: HttpStream): number {
  let bytes = stream.info.bytesSent + (stream.info.responseCode === 0 ? 0 : 17);
  const headers = stream.info.responseHeaders;
  if (headers !== undefined) for (const name in headers) bytes += headerBytes(name, headers[name]);
  return bytes;
}

function headerBytes(name: string, value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + name.length + String(v).length + 4, 0);
  return value === undefined ? 0 : name.length + String(value).length + 4;
}

export function createIstioStatsFilter(config: unknown, ctx: FilterContext): HttpFilterInstance {
  return new IstioStatsFilter(config as IstioStatsConfig, ctx);
}
