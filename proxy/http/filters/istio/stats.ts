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
import { taggedStatName, type Counter, type Histogram, type Store, type Tag } from '../../../stats/index.ts';
import { tlsInfo } from '../../../transport/info.ts';
import type { ClusterManager } from '../../../upstream/index.ts';
import { peerOf } from './peer-state.ts';
import { workloadFromStruct, type WorkloadMetadata } from './workload-metadata.ts';

type Reporter = 'source' | 'destination' | 'waypoint';

const NAMESPACE = 'istiocustom.';
const SPECIAL_CLUSTERS = new Set(['BlackHoleCluster', 'PassthroughCluster', 'InboundPassthroughCluster', 'InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv6']);
const UNKNOWN = 'unknown';

const or = (value: string | undefined, fallback: string): string => (value === undefined || value === '' ? fallback : value);

// The namespace in a SPIFFE principal: <domain>/ns/<namespace>/sa/<account>.
function namespaceOfPrincipal(principal: string): string {
  const at = principal.indexOf('/ns/');
  if (at < 0) return '';
  const rest = principal.slice(at + 4);
  const end = rest.indexOf('/');
  return end < 0 ? rest : rest.slice(0, end);
}

export class IstioStatsFilter implements HttpFilterInstance {
  private readonly store: Store;
  private readonly clusters: ClusterManager | undefined;
  private readonly reporter: Reporter;
  private readonly self: WorkloadMetadata; // this proxy, from its node metadata
  private readonly disableHostHeaderFallback: boolean;
  private readonly dropped: ReadonlySet<string>;
  private readonly removed: ReadonlyMap<string, ReadonlySet<string>>; // metric ('' = all) -> tags
  private readonly counters = new Map<string, Counter>();
  private readonly histograms = new Map<string, Histogram>();

  constructor(config: IstioStatsConfig, ctx: FilterContext) {
    this.store = ctx.store;
    this.clusters = ctx.clusters;
    this.reporter = config.reporter === 'SERVER_GATEWAY' ? 'waypoint' : config.trafficDirection === 'INBOUND' ? 'destination' : 'source';
    this.self = workloadFromStruct(ctx.node?.metadata ?? {}, new Set());
    this.disableHostHeaderFallback = config.disableHostHeaderFallback;
    this.dropped = new Set(config.metrics.filter((m) => m.drop).map((m) => m.name));
    const removed = new Map<string, Set<string>>();
    for (const m of config.metrics) for (const tag of m.tagsToRemove) removed.set(m.name, (removed.get(m.name) ?? new Set()).add(tag));
    this.removed = removed;
    const version = ctx.node?.metadata.ISTIO_VERSION;
    // istio_build: the proxy's Istio version, as Istio's filters publish it.
    this.store.gauge(taggedStatName(`${NAMESPACE}istio_build`, [{ name: 'component', value: 'proxy' }, { name: 'tag', value: or(typeof version === 'string' ? version : '', UNKNOWN) }]), 'never').set(1);
  }

  onStreamComplete(stream: HttpStream): void {
    const info = stream.info;
    const grpc = stream.head.path !== '' && isGrpcRequest(stream.head);
    const tags = this.peerTags(stream);
    tags.push({ name: 'request_protocol', value: grpc ? 'grpc' : 'http' });
    tags.push({ name: 'response_code', value: String(info.responseCode) });
    let grpcStatus = '';
    if (grpc) {
      const code = grpcStatusOf(info.responseTrailers) ?? grpcStatusOf(info.responseHeaders) ?? (info.responseCode === 0 ? undefined : httpToGrpcStatus(info.responseCode));
      grpcStatus = code === undefined ? '' : String(code);
    }
    tags.push({ name: 'grpc_response_status', value: grpcStatus });
    tags.push({ name: 'response_flags', value: formatResponseFlags(info.responseFlags) });
    tags.push({ name: 'connection_security_policy', value: this.securityPolicy(stream) });

    this.count('requests_total', tags);
    this.record('request_duration_milliseconds', tags, info.durationMs ?? info.elapsedMs(), 'ms');
    this.record('request_bytes', tags, requestBytes(stream), 'bytes');
    this.record('response_bytes', tags, responseBytes(stream), 'bytes');
  }

  // Istio's populatePeerInfo: this proxy's side from its node metadata, the peer's from the
  // exchanged metadata (principal and namespace from the peer's certificate first).
  private peerTags(stream: HttpStream): Tag[] {
    const server = this.reporter !== 'source';
    const peer = peerOf(stream, server ? 'downstream' : 'upstream');
    const { serviceHost, serviceHostName } = this.destinationService(stream);
    const tls = server ? tlsInfo(stream.connection.socket) : undefined;
    const peerSan = tls?.peerUriSans[0] ?? '';
    const localSan = tls?.localUriSans[0] ?? '';
    const peerNamespace = or(namespaceOfPrincipal(peerSan), peer?.namespace ?? '');
    const self = this.self;
    const tags: Tag[] = [{ name: 'reporter', value: this.reporter }];
    const add = (name: string, value: string) => tags.push({ name, value });
    if (server) {
      add('source_workload', or(peer?.workload, UNKNOWN));
      add('source_canonical_service', or(peer?.canonicalName, UNKNOWN));
      add('source_canonical_revision', or(peer?.canonicalRevision, 'latest'));
      add('source_workload_namespace', or(peerNamespace, UNKNOWN));
      add('source_principal', or(peerSan, UNKNOWN));
      add('source_app', or(peer?.app, UNKNOWN));
      add('source_version', or(peer?.version, UNKNOWN));
      add('source_cluster', or(peer?.cluster, UNKNOWN));
      if (this.reporter === 'waypoint') {
        // A waypoint reports the endpoint it sent to, as the upstream peer told it.
        const endpoint = peerOf(stream, 'upstream');
        const canonical = or(endpoint?.canonicalName, UNKNOWN);
        add('destination_workload', or(endpoint?.workload, UNKNOWN));
        add('destination_workload_namespace', or(endpoint?.namespace, UNKNOWN));
        add('destination_principal', UNKNOWN);
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
      return tags;
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
    return tags;
  }

  // The Host header (unless disable_host_header_fallback), then what istiod says of the cluster.
  private destinationService(stream: HttpStream): { serviceHost: string; serviceHostName: string } {
    let serviceHost = this.disableHostHeaderFallback ? '' : stream.info.authority ?? '';
    let serviceHostName = serviceHost;
    const route = stream.info.routeName;
    const cluster = stream.cluster?.name;
    if (route === 'block_all') serviceHostName = 'BlackHoleCluster';
    else if (route === 'allow_any') serviceHostName = 'PassthroughCluster';
    else if (cluster !== undefined && SPECIAL_CLUSTERS.has(cluster)) serviceHostName = cluster;
    else if (cluster !== undefined) {
      const service = this.clusters?.get(cluster)?.config.istioService;
      if (service !== undefined) {
        if (service.host !== '') serviceHost = service.host;
        const dot = serviceHost.indexOf('.');
        serviceHostName = service.name !== '' ? service.name : dot < 0 ? serviceHost : serviceHost.slice(0, dot);
      }
    }
    return { serviceHost, serviceHostName };
  }

  // Known on the server side only: mutual_tls when both ends presented a SPIFFE identity.
  private securityPolicy(stream: HttpStream): string {
    if (this.reporter === 'source') return UNKNOWN;
    const tls = tlsInfo(stream.connection.socket);
    return tls !== undefined && tls.peerUriSans.length > 0 && tls.localUriSans.length > 0 ? 'mutual_tls' : 'none';
  }

  private tagsFor(metric: string, tags: Tag[]): Tag[] {
    const all = this.removed.get('');
    const one = this.removed.get(metric);
    if (all === undefined && one === undefined) return tags;
    return tags.filter((t) => !(all?.has(t.name) || one?.has(t.name)));
  }

  private count(metric: string, tags: Tag[]): void {
    if (this.dropped.has(metric) || this.dropped.has('')) return;
    const name = taggedStatName(`${NAMESPACE}istio_${metric}`, this.tagsFor(metric, tags));
    let counter = this.counters.get(name);
    if (counter === undefined) this.counters.set(name, (counter = this.store.counter(name)));
    counter.inc();
  }

  private record(metric: string, tags: Tag[], value: number, unit: 'ms' | 'bytes'): void {
    if (this.dropped.has(metric) || this.dropped.has('')) return;
    const name = taggedStatName(`${NAMESPACE}istio_${metric}`, this.tagsFor(metric, tags));
    let histogram = this.histograms.get(name);
    if (histogram === undefined) this.histograms.set(name, (histogram = this.store.histogram(name, unit)));
    histogram.record(value);
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
