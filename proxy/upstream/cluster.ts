// A running upstream cluster: its hosts (from load_assignment, DNS or EDS), their load balancer
// and connection pools, and its stats. Host objects and pools survive updates for hosts that did
// not change, so a config push never drops warm connections.
import { Http1ClientConnection, Http2ClientConnection, type ClientConnection, type Http1ClientOptions, type Http2ClientConnectionCallbacks, type Protocol } from '../codec/index.ts';
import type { Socket } from 'node:net';
import type { Cluster, ClusterLoadAssignment } from '../config/model.ts';
import { poolKeyOf, type SharedObject } from '../filter-state/index.ts';
import type { Store } from '../stats/index.ts';
import { createLoadBalancer, type RefreshableLoadBalancer } from './lb/index.ts';
import type { LbContext } from './lb/host.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { ClusterStats } from './cluster-stats.ts';
import { HEALTH_FLAG, Host } from './host.ts';
import { OutlierDetector, type EjectionListener } from './outlier.ts';
import { OriginalDstHosts } from './original-dst-cluster.ts';
import { matchTransport } from './transport-match.ts';
import { SslStats, UpstreamTls, type UpstreamTlsOptions } from '../transport/index.ts';
import { Http1Pool, Http2Pool, type ClientCodecFactory, type Http2CodecFactory, type HttpConnectionPool, type OpenSocket } from './pool/index.ts';

export interface ClusterOptions {
  /** Outlier ejections and unejections this worker decides, for the other workers. */
  onEjection?: EjectionListener;
  /**
   * Active health-check results known for this cluster (address -> failed), kept by the
   * ClusterManager across rebuilds. A new host without a result starts failed, as in Envoy.
   */
  activeHealth?: ReadonlyMap<string, boolean>;
  /** The rebuilt cluster's breaker, when its thresholds did not change: the old cluster's
   *  connections and requests in flight still count against the same limits. */
  breaker?: CircuitBreaker;
  /** The HTTP/1 client codec the host pools run (tests inject a fake). Default: Http1ClientConnection. */
  httpCodec?: ClientCodecFactory;
  /** The codec HTTP/2 pools run (tests). Default: Http2ClientConnection, or by ALPN for auto_config. */
  http2Codec?: Http2CodecFactory;
  /** How the pools open sockets (tests). Default net.connect. */
  openSocket?: OpenSocket;
}

export class UpstreamCluster {
  config: Cluster;
  readonly stats: ClusterStats;
  hosts: Host[] = [];
  /** The DEFAULT priority's thresholds: Legate routes every request at that priority. */
  readonly breaker: CircuitBreaker;
  readonly outlier: OutlierDetector | null;
  /** TLS to every host (transport_socket), its SecureContext built once for this cluster config. */
  readonly tls: UpstreamTls | null;
  /** Set when the cluster has transport_socket_matches: the transport each host gets. */
  readonly tlsFor?: (host: Host) => UpstreamTls | null;
  private lb: RefreshableLoadBalancer;
  /** Per address, the pool of the cluster's protocol (HTTP/1 for use_downstream_protocol_config). */
  private readonly httpPools = new Map<string, HttpConnectionPool>();
  /** Per address, the other pools: per (protocol, transport match, SNI, SAN) under auto_sni /
   *  auto_san_validation, transport_socket_matches and use_downstream_protocol_config, so
   *  connections made for different server names, transports or protocols never mix. */
  private readonly namedPools = new Map<string, Map<string, HttpConnectionPool>>();
  /** use_downstream_protocol_config with TLS and no configured ALPN: the HTTP/2 pools offer h2. */
  private readonly h2Tls: UpstreamTls | null;
  /** transport_socket_matches, compiled: each entry's TLS (null: raw_buffer); null without matches. */
  private readonly transportMatches: { name: string; tls: UpstreamTls | null }[] | null;
  /** The match index each host got (-1: the cluster's own transport_socket). */
  private readonly hostTransport = new WeakMap<Host, number>();
  private readonly httpCodec: ClientCodecFactory;
  private readonly http1Options: Http1ClientOptions;
  private readonly http2Codec: Http2CodecFactory;
  private readonly openSocket: OpenSocket | undefined;
  private readonly activeHealth: ReadonlyMap<string, boolean> | undefined;
  private readonly originalDst: OriginalDstHosts | null;

  constructor(config: Cluster, store: Store, options: ClusterOptions = {}) {
    this.config = config;
    const statName = config.altStatName || config.name;
    this.stats = new ClusterStats(store, statName);
    this.breaker = options.breaker ?? new CircuitBreaker(config.circuitBreakers[0], store, statName, this.stats);
    this.outlier = config.outlierDetection === undefined ? null : new OutlierDetector(config.outlierDetection, this, store, statName, { onEjection: options.onEjection });
    this.activeHealth = options.activeHealth;
    const sslStats = new SslStats(store, `cluster.${statName}.`);
    this.tls = config.tls === undefined ? null : new UpstreamTls(config.tls, sslStats);
    this.transportMatches = config.transportSocketMatches === undefined ? null : config.transportSocketMatches.map((m) => ({
      name: m.name,
      tls: m.tls === undefined ? null : new UpstreamTls(m.tls, sslStats),
    }));
    if (this.transportMatches !== null) this.tlsFor = (host) => this.transportOf(host).tls;
    this.h2Tls = config.upstreamProtocol === 'DOWNSTREAM' && config.tls !== undefined && config.tls.alpnProtocols.length === 0
      ? new UpstreamTls({ ...config.tls, alpnProtocols: ['h2'] }, sslStats)
      : null;
    this.http1Options = { maxResponseHeadersKb: MAX_RESPONSE_HEADERS_KB, maxHeadersCount: config.maxHeadersCount };
    this.httpCodec = options.httpCodec ?? ((socket, callbacks) => new Http1ClientConnection(socket, callbacks, this.http1Options));
    this.http2Codec = options.http2Codec ?? ((socket, callbacks) => this.makeHttp2Codec(socket, callbacks));
    this.openSocket = options.openSocket;
    // ORIGINAL_DST hosts come from the streams themselves, never from an assignment.
    this.originalDst = config.type === 'ORIGINAL_DST' ? new OriginalDstHosts(config.cleanupIntervalMs ?? 5000, (hosts, removed) => this.setOriginalDstHosts(hosts, removed), {
      portOverride: config.upstreamPortOverride,
      metadataKey: config.originalDstMetadataKey,
      onInvalidHost: () => store.counter(`cluster.${statName}.original_dst_host_invalid`).inc(),
    }) : null;
    this.lb = this.originalDst ?? createLoadBalancer(config.lbPolicy, [], config);
    if (this.originalDst === null) this.setAssignment(config.loadAssignment);
  }

  /** Replaces the host set; hosts whose endpoint did not change keep their object and state. */
  setAssignment(assignment: ClusterLoadAssignment): void {
    const previous = new Map(this.hosts.map((h) => [hostKey(h), h]));
    const byAddress = new Map(this.hosts.map((h) => [h.address, h]));
    const next: Host[] = [];
    for (const locality of assignment.endpoints) {
      const localityKey = `${locality.locality.region}/${locality.locality.zone}/${locality.locality.subZone}`;
      for (const endpoint of locality.lbEndpoints) {
        const fresh = new Host(endpoint, locality.priority, localityKey, locality.loadBalancingWeight);
        const kept = previous.get(hostKey(fresh));
        if (kept !== undefined && kept.edsStatus === fresh.edsStatus) next.push(kept);
        else {
          // Active health-check and outlier state belong to the address, not the endpoint entry.
          const same = byAddress.get(fresh.address);
          if (same !== undefined) fresh.healthFlags = (same.healthFlags & ~HEALTH_FLAG.failedEdsHealth) | (fresh.healthFlags & HEALTH_FLAG.failedEdsHealth);
          else if (this.config.healthChecks.length > 0 && (this.activeHealth?.get(fresh.address) ?? true)) fresh.healthFlags |= HEALTH_FLAG.failedActiveHc;
          next.push(fresh);
        }
      }
    }
    const live = new Set(next.map((h) => h.address));
    for (const [address, pool] of this.httpPools) {
      if (!live.has(address)) {
        this.httpPools.delete(address);
        pool.drain();
      }
    }
    for (const address of this.namedPools.keys()) if (!live.has(address)) this.dropNamedPools(address);
    const changed = next.length !== this.hosts.length || next.some((h, i) => h !== this.hosts[i]);
    this.hosts = next;
    this.outlier?.setHosts(live);
    if (changed) {
      this.stats.membershipChange.inc();
      this.lb = createLoadBalancer(this.config.lbPolicy, next, this.config);
    } else {
      this.stats.updateNoRebuild.inc();
    }
    this.updateMembership();
  }

  private setOriginalDstHosts(hosts: Host[], removed: Host[]): void {
    for (const host of removed) {
      this.httpPools.get(host.address)?.drain();
      this.httpPools.delete(host.address);
      this.dropNamedPools(host.address);
    }
    this.hosts = hosts;
    this.outlier?.setHosts(hosts.map((h) => h.address));
    this.stats.membershipChange.inc();
    this.updateMembership();
  }

  /** Call after a host's health flags changed. */
  healthChanged(): void {
    this.lb.refresh();
    this.updateMembership();
  }

  /** Sets or clears a host's failed_active_hc flag from an active health check result. */
  setActiveHealth(address: string, failed: boolean): void {
    const host = this.hostByAddress(address);
    if (host === undefined || (host.healthFlags & HEALTH_FLAG.failedActiveHc) === (failed ? HEALTH_FLAG.failedActiveHc : 0)) return;
    if (failed) host.healthFlags |= HEALTH_FLAG.failedActiveHc;
    else host.healthFlags &= ~HEALTH_FLAG.failedActiveHc;
    this.healthChanged();
  }

  chooseHost(ctx?: LbContext): Host | null {
    return this.lb.chooseHost(ctx) as Host | null;
  }

  /**
   * The host's connection pool (made on first use): one per address for the cluster's protocol;
   * with `tls` (the request's SNI and SAN under auto_sni / auto_san_validation) one per address and
   * server name. Under use_downstream_protocol_config an HTTP/2 request (`downstream`) gets the
   * host's HTTP/2 pool, any other its HTTP/1 pool. A stream that shares filter state objects with
   * the upstream (`shared`) gets a pool keyed by the hashable ones, whose connections carry them.
   */
  httpPool(host: Host, tls?: UpstreamTlsOptions, downstream?: Protocol, shared?: readonly SharedObject[]): HttpConnectionPool {
    const protocol = this.config.upstreamProtocol;
    const perRequest = protocol === 'DOWNSTREAM' && downstream === 'HTTP/2';
    const h2 = perRequest || protocol === 'HTTP2' || protocol === 'AUTO';
    const kind = perRequest ? 'h2' : '';
    const state = shared === undefined ? '' : `\n${poolKeyOf(shared)}`;
    if (this.transportMatches !== null) {
      // Keyed by the host's matched transport too: TLS and plain connections never mix.
      const transport = this.transportOf(host);
      const options = transport.tls === null ? undefined : tls;
      return this.namedPool(host, `${kind}\n${transport.index}\n${options?.serverName ?? ''}\n${options?.verifySan ?? ''}\n${options?.alpn?.join(',') ?? ''}${state}`, h2, transport.tls, options, shared);
    }
    const transport = perRequest && this.h2Tls !== null ? this.h2Tls : this.tls;
    if (tls !== undefined && transport !== null) return this.namedPool(host, `${kind}\n\n${tls.serverName ?? ''}\n${tls.verifySan ?? ''}\n${tls.alpn?.join(',') ?? ''}${state}`, h2, transport, tls, shared);
    if (perRequest || shared !== undefined) return this.namedPool(host, `${kind}${state}`, h2, transport, undefined, shared);
    let pool = this.httpPools.get(host.address);
    if (pool === undefined) {
      pool = this.newPool(host, h2, undefined, undefined);
      this.httpPools.set(host.address, pool);
    }
    return pool;
  }

  private newPool(host: Host, h2: boolean, tls: UpstreamTls | null | undefined, tlsOptions: UpstreamTlsOptions | undefined, sharedFilterState?: readonly SharedObject[]): HttpConnectionPool {
    const options = { openSocket: this.openSocket, tls, tlsOptions, sharedFilterState };
    if (!h2) return new Http1Pool(host, this, this.httpCodec, options);
    return new Http2Pool(host, this, this.http2Codec, { ...options, expectedStreams: this.config.http2.maxConcurrentStreams });
  }

  /** HTTP/2, or under auto_config what ALPN chose (HTTP/1.1 when the host did not pick h2). */
  private makeHttp2Codec(socket: Socket, callbacks: Http2ClientConnectionCallbacks): ClientConnection {
    const config = this.config;
    if (config.upstreamProtocol === 'AUTO' && (socket as { alpnProtocol?: string | false }).alpnProtocol !== 'h2') {
      return new Http1ClientConnection(socket, callbacks, this.http1Options);
    }
    return new Http2ClientConnection(socket, callbacks, {
      ...config.http2,
      maxResponseHeadersKb: MAX_RESPONSE_HEADERS_KB,
      maxStreams: config.maxRequestsPerConnection,
      streamBufferLimitBytes: config.perConnectionBufferLimitBytes,
      stats: { rxReset: this.stats.http2RxReset, txReset: this.stats.http2TxReset },
    });
  }

  /** The host's transport under transport_socket_matches: the first entry whose every field the
   *  host's metadata has with an equal value, else the cluster's transport_socket (index -1). */
  private transportOf(host: Host): { index: number; tls: UpstreamTls | null } {
    const matches = this.transportMatches!;
    let index = this.hostTransport.get(host);
    if (index === undefined) {
      index = matchTransport(this.config.transportSocketMatches!, host.transportSocketMatch);
      this.hostTransport.set(host, index);
    }
    return { index, tls: index < 0 ? this.tls : matches[index].tls };
  }

  private namedPool(host: Host, key: string, h2: boolean, transport: UpstreamTls | null, tls: UpstreamTlsOptions | undefined, shared?: readonly SharedObject[]): HttpConnectionPool {
    let pools = this.namedPools.get(host.address);
    if (pools === undefined) {
      pools = new Map();
      this.namedPools.set(host.address, pools);
    }
    let pool = pools.get(key);
    if (pool === undefined) {
      pool = this.newPool(host, h2, transport, tls, shared);
      pools.set(key, pool);
    }
    return pool;
  }

  private dropNamedPools(address: string): void {
    const pools = this.namedPools.get(address);
    if (pools === undefined) return;
    this.namedPools.delete(address);
    for (const pool of pools.values()) pool.drain();
  }

  hostByAddress(address: string): Host | undefined {
    return this.hosts.find((h) => h.address === address);
  }

  /** Stops new use; requests in flight finish on their pools. */
  async close(): Promise<void> {
    this.originalDst?.close();
    this.outlier?.close();
    const httpPools = [...this.httpPools.values(), ...[...this.namedPools.values()].flatMap((m) => [...m.values()])];
    this.httpPools.clear();
    this.namedPools.clear();
    for (const pool of httpPools) pool.drain();
    await Promise.allSettled(httpPools.map((p) => p.closed()));
  }

  private updateMembership(): void {
    let healthy = 0;
    let degraded = 0;
    for (const h of this.hosts) {
      if (h.healthy()) healthy++;
      else if (h.degraded()) degraded++;
    }
    this.stats.membershipTotal.set(this.hosts.length);
    this.stats.membershipHealthy.set(healthy);
    this.stats.membershipDegraded.set(degraded);
  }
}

// Envoy's default max_response_headers_kb (Legate does not take the field yet).
const MAX_RESPONSE_HEADERS_KB = 60;

function hostKey(h: Host): string {
  const match = h.transportSocketMatch === undefined ? '' : JSON.stringify(h.transportSocketMatch);
  return `${h.address}|${h.weight}|${h.priority}|${h.localityKey}|${h.localityWeight}|${match}`;
}
