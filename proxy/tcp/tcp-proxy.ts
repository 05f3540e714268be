// Envoy's tcp_proxy network filter: each downstream connection gets a connection to a host of the
// (weighted) cluster, or with tunneling_config an HTTP CONNECT/POST stream on the host's pool
// (http-tunnel.ts), made with up to max_connect_attempts tries; then a Relay moves the bytes
// (back-pressure, half-close, idle timeout). Stats are Envoy's tcp.<stat_prefix>.* and the
// cluster's; the access log line is written when the downstream connection closes.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TcpProxy } from '../config/model.ts';
import { recordConnection, type ConnectionFacts, type ChainHandler } from '../listener/index.ts';
import { createAccessLogger, formatResponseFlags, StreamInfo, type AccessLogger } from '../access-log/index.ts';
import type { Counter, Gauge, Store } from '../stats/index.ts';
import { connect, tlsOptionsWithFilterState, type ClusterManager, type ConnectAttempt, type ConnectCallbacks, type ConnectFailureReason, type Host, type UpstreamCluster } from '../upstream/index.ts';
import { Relay, type RelayObserver, type StreamPrefixReader } from './relay.ts';
import { IstioTcp, IstioTcpReport, type IstioNode } from './istio-tcp.ts';
import type { ExchangeReader } from '../istio/exchange.ts';
import type { WorkloadMetadata } from '../istio/workload-metadata.ts';
import { downstreamPeerIn } from '../istio/peer-state.ts';
import { upstreamWorkloadAddress, type WorkloadLookup } from '../istio/workload-index.ts';
import { TCP_PROXY_CLUSTER_KEY } from '../filter-state/index.ts';
import { setWriteBufferLimit } from '../transport/index.ts';
import { upstreamFlowStats, type UpstreamFlowStats } from './upstream-connection.ts';
import { HttpTunnel, Tunneling, type TunnelCallbacks } from './http-tunnel.ts';

export interface TcpProxyContext {
  store: Store;
  clusters: ClusterManager;
  log(line: string): void;
  /** The bootstrap's node: who this proxy is in Istio's metadata exchange. */
  node?: IstioNode;
  /** Istio's workload discovery, for the exchange's enable_discovery. */
  workloads?: WorkloadLookup;
}

interface TcpStats {
  downstreamCxTotal: Counter;
  downstreamCxNoRoute: Counter;
  downstreamCxTxBytesTotal: Counter;
  downstreamCxRxBytesTotal: Counter;
  downstreamFlowControlPausedReadingTotal: Counter;
  downstreamFlowControlResumedReadingTotal: Counter;
  idleTimeout: Counter;
  maxDownstreamConnectionDuration: Counter;
  upstreamFlushTotal: Counter;
  upstreamFlushActive: Gauge;
}

export class TcpProxyHandler implements ChainHandler {
  readonly config: TcpProxy;
  readonly stats: TcpStats;
  readonly store: Store;
  readonly clusters: ClusterManager;
  readonly loggers: AccessLogger[];
  readonly istio: IstioTcp;
  /** tunneling_config, compiled; absent: raw TCP to the upstream. */
  readonly tunneling: Tunneling | undefined;

  constructor(config: TcpProxy, ctx: TcpProxyContext) {
    this.config = config;
    this.istio = new IstioTcp(ctx.store, ctx.node, config.metadataExchange, config.istioStats, ctx.workloads);
    this.store = ctx.store;
    this.clusters = ctx.clusters;
    const c = (name: string) => ctx.store.counter(`tcp.${config.statPrefix}.${name}`);
    this.stats = {
      downstreamCxTotal: c('downstream_cx_total'),
      downstreamCxNoRoute: c('downstream_cx_no_route'),
      downstreamCxTxBytesTotal: c('downstream_cx_tx_bytes_total'),
      downstreamCxRxBytesTotal: c('downstream_cx_rx_bytes_total'),
      downstreamFlowControlPausedReadingTotal: c('downstream_flow_control_paused_reading_total'),
      downstreamFlowControlResumedReadingTotal: c('downstream_flow_control_resumed_reading_total'),
      idleTimeout: c('idle_timeout'),
      maxDownstreamConnectionDuration: c('max_downstream_connection_duration'),
      upstreamFlushTotal: c('upstream_flush_total'),
      upstreamFlushActive: ctx.store.gauge(`tcp.${config.statPrefix}.upstream_flush_active`),
    };
    this.loggers = config.accessLog.map((a) => createAccessLogger(a));
    this.tunneling = config.tunneling === undefined ? undefined : new Tunneling(config.tunneling);
  }

  onConnection(downstream: Socket, facts: ConnectionFacts): void {
    // Past the listener's buffer limit toward the client, the upstream's reads pause (relay.ts).
    setWriteBufferLimit(downstream, this.config.bufferLimitBytes);
    new TcpSession(this, downstream, facts).start();
  }

  drain(): void {
    // TCP has no request boundary to drain at: connections finish on their own or at the listener's drain deadline.
  }

  /** A cluster name from cluster or weighted_clusters; picked again for each connect attempt, as Envoy does. */
  pickCluster(): string {
    const spec = this.config.cluster;
    if (spec.kind !== 'weighted_clusters') return spec.kind === 'cluster' ? spec.name : '';
    let r = Math.floor(Math.random() * spec.totalWeight);
    for (const c of spec.clusters) {
      r -= c.weight;
      if (r < 0) return c.name;
    }
    return spec.clusters[spec.clusters.length - 1]?.name ?? '';
  }
}

/** One downstream connection: connect attempts, then the relay; logs once when the downstream closes. */
class TcpSession implements RelayObserver, ConnectCallbacks, TunnelCallbacks {
  private readonly proxy: TcpProxyHandler;
  private readonly downstream: Socket;
  private readonly facts: ConnectionFacts;
  private readonly info = new StreamInfo();
  private readonly tried: Host[] = [];
  private attempts = 0;
  private cluster: UpstreamCluster | undefined;
  private upstream: Duplex | undefined;
  /** The upstream's socket when the bytes go to it raw (not through a tunnel). */
  private upstreamSocket: Socket | undefined;
  private connecting: ConnectAttempt | HttpTunnel | undefined;
  private relay: Relay | undefined;
  private closed = false;
  private durationTimer: NodeJS.Timeout | undefined;
  /** idle_timeout while a tunnel waits for its answer (the relay keeps it afterwards). */
  private answerTimer: NodeJS.Timeout | undefined;
  private flow: UpstreamFlowStats | undefined; // resolved on the first pause
  // Istio: the peers' exchange headers being read, and the connection's metrics.
  private downstreamExchange: ExchangeReader | undefined;
  private upstreamExchange: ExchangeReader | undefined;
  private readonly istioReport: IstioTcpReport | undefined;

  constructor(proxy: TcpProxyHandler, downstream: Socket, facts: ConnectionFacts) {
    this.proxy = proxy;
    this.downstream = downstream;
    this.facts = facts;
    this.istioReport = proxy.istio.metrics === undefined ? undefined : new IstioTcpReport(proxy.istio);
  }

  start(): void {
    const { downstream, facts, info, proxy } = this;
    proxy.stats.downstreamCxTotal.inc();
    // Reads wait for the upstream; a FIN that arrives meanwhile must not close our write side.
    downstream.allowHalfOpen = true;
    downstream.pause();
    downstream.on('error', () => {});
    downstream.once('close', () => this.onDownstreamClose());
    recordConnection(info, downstream, facts);
    this.downstreamExchange = proxy.istio.exchange(downstream, proxy.config.metadataExchange);
    const maxDuration = proxy.config.maxDownstreamConnectionDurationMs;
    if (maxDuration !== undefined) {
      this.durationTimer = setTimeout(() => {
        proxy.stats.maxDownstreamConnectionDuration.inc();
        info.setResponseFlag('DT');
        this.closeNow();
      }, maxDuration);
    }
    this.connect();
  }

  private connect(): void {
    const { proxy, info } = this;
    // envoy.tcp_proxy.cluster in the connection's filter state names the cluster instead (Envoy's PerConnectionCluster).
    const name = info.filterState?.get(TCP_PROXY_CLUSTER_KEY)?.asString() ?? proxy.pickCluster();
    const cluster = proxy.clusters.get(name);
    if (cluster === undefined) {
      proxy.stats.downstreamCxNoRoute.inc();
      info.setResponseFlag('NC');
      this.closeNow();
      return;
    }
    this.cluster = cluster;
    info.upstreamCluster = cluster.config.name;
    if (!cluster.breaker.admitConnection()) {
      info.setResponseFlag('UO');
      this.closeNow();
      return;
    }
    if (this.attempts >= proxy.config.maxConnectAttempts) {
      info.setResponseFlag('URX');
      proxy.store.counter(`cluster.${cluster.config.altStatName || cluster.config.name}.upstream_cx_connect_attempts_exceeded`).inc();
      this.closeNow();
      return;
    }
    const tried = this.tried;
    const host = cluster.chooseHost({
      exclude: tried.length > 0 ? (h) => tried.includes(h as Host) : undefined,
      downstreamLocalAddress: info.downstreamLocalAddress,
      metadata: { dynamicMetadata: () => [this.facts.dynamicMetadata] },
      filterState: this.facts.filterState,
    });
    if (host === null) {
      cluster.stats.upstreamCxNone.inc();
      info.setResponseFlag('UH');
      this.closeNow();
      return;
    }
    tried.push(host);
    this.attempts++;
    info.attemptCount = this.attempts;
    info.upstreamHost = host.address;
    info.upstreamHostMetadata = host.metadata;
    const tunneling = proxy.tunneling;
    if (tunneling === undefined) {
      const state = info.filterState;
      this.connecting = connect(cluster, host, this, { allowHalfOpen: true, tlsOptions: tlsOptionsWithFilterState(undefined, state), sharedFilterState: state?.sharedWithUpstream() });
      return;
    }
    // Envoy's idle timer runs from the connection's start: an upstream that takes the stream and
    // never answers must not hold the downstream (connect_timeout only covers the TCP connect).
    const idleTimeoutMs = proxy.config.idleTimeoutMs;
    if (this.answerTimer === undefined && idleTimeoutMs > 0) {
      this.answerTimer = setTimeout(() => {
        proxy.stats.idleTimeout.inc();
        this.closeNow();
      }, idleTimeoutMs);
    }
    const tunnel = new HttpTunnel(tunneling, cluster, host, info, this);
    this.connecting = tunnel;
    tunnel.start();
  }

  // ---- ConnectCallbacks ----

  onConnect(upstream: Socket): void {
    this.upstreamSocket = upstream;
    this.info.upstreamLocalAddress = `${upstream.localAddress}:${upstream.localPort}`;
    this.upstreamExchange = this.proxy.istio.exchange(upstream, this.cluster?.config.metadataExchange);
    this.established(upstream);
  }

  onConnectFailure(_reason: ConnectFailureReason, details: string): void {
    this.connecting = undefined;
    this.info.setResponseFlag('UF');
    this.info.upstreamTransportFailureReason = details;
    if (!this.closed) this.connect();
  }

  // ---- TunnelCallbacks ----

  onTunnel(tunnel: HttpTunnel): void {
    this.established(tunnel);
  }

  onTunnelFailure(connectFailure: boolean, details: string): void {
    this.connecting = undefined;
    if (connectFailure) this.info.setResponseFlag('UF');
    if (details !== '') this.info.upstreamTransportFailureReason = details;
    if (!this.closed) this.connect();
  }

  /** The upstream is there (a connected socket, or a tunnel the upstream accepted): relay. */
  private established(upstream: Duplex): void {
    this.connecting = undefined;
    clearTimeout(this.answerTimer);
    const proxy = this.proxy;
    this.upstream = upstream;
    // Istio reports the connection once the peer is known: from its header, or known to be absent.
    const peerExchange = proxy.istio.reporter === 'source' ? this.upstreamExchange : this.downstreamExchange;
    const readers = {
      downstream: this.watched(this.downstreamExchange, peerExchange),
      upstream: this.watched(this.upstreamExchange, peerExchange),
    };
    this.relay = new Relay(this.downstream, upstream, proxy.config.idleTimeoutMs, this, readers);
    if (peerExchange === undefined) this.reportOpened();
    this.relay.start();
  }

  /** A prefix reader that reports the connection opened when the peer's header has been read. */
  private watched(reader: ExchangeReader | undefined, peerExchange: ExchangeReader | undefined): StreamPrefixReader | undefined {
    if (reader === undefined || reader !== peerExchange) return reader;
    return {
      get done() {
        return reader.done;
      },
      push: (chunk) => {
        const out = reader.push(chunk);
        if (reader.done) this.reportOpened();
        return out;
      },
      flush: () => reader.flush(),
    };
  }

  private reportOpened(): void {
    if (this.istioReport === undefined || this.istioReport.reported) return;
    this.istioReport.opened(this.downstream, this.info.filterState, this.upstreamSocket, this.peer(), this.endpoint(), this.cluster?.config, formatResponseFlags(this.info.responseFlags));
  }

  /**
   * A waypoint's upstream workload: what its listener's exchange looks up by the upstream host when
   * the downstream sent no header (Istio's exchange sets the upstream peer there too).
   */
  private endpoint(): WorkloadMetadata | undefined {
    const exchange = this.downstreamExchange;
    if (this.proxy.istio.reporter !== 'waypoint' || (exchange !== undefined && !exchange.missing)) return undefined;
    const host = this.tried[this.tried.length - 1];
    return this.proxy.istio.discover(this.proxy.config.metadataExchange, () => (host === undefined ? undefined : upstreamWorkloadAddress(host.address, host.metadata)));
  }

  /** The peer Istio's stats report: the upstream one for a client, the downstream one otherwise. */
  private peer(): WorkloadMetadata | undefined {
    const istio = this.proxy.istio;
    // A peer shared into this connection's filter state (connect_baggage's, through an internal listener) comes first.
    if (istio.reporter !== 'source') return downstreamPeerIn(this.info.filterState) ?? istio.peer(this.proxy.config.metadataExchange, this.downstreamExchange, () => this.facts.sourceIp);
    const host = this.tried[this.tried.length - 1];
    return istio.peer(this.cluster?.config.metadataExchange, this.upstreamExchange, () => (this.upstreamSocket === undefined ? undefined : upstreamWorkloadAddress(host.address, host.metadata)));
  }

  /** Closes both connections without flushing (Envoy's NoFlush local close). */
  private closeNow(): void {
    if (this.relay !== undefined) this.relay.destroy();
    else this.downstream.destroy();
  }

  private onDownstreamClose(): void {
    this.closed = true;
    if (this.durationTimer !== undefined) clearTimeout(this.durationTimer);
    clearTimeout(this.answerTimer);
    this.connecting?.cancel();
    this.connecting = undefined;
    if (this.relay === undefined) this.upstream?.destroy();
    const info = this.info;
    info.durationMs = info.elapsedMs();
    if (this.istioReport !== undefined) {
      this.reportOpened();
      this.istioReport.closed(info.bytesSent, info.bytesReceived);
    }
    for (const logger of this.proxy.loggers) logger.log(info);
  }

  // ---- RelayObserver ----

  downstreamBytes(n: number): void {
    this.info.bytesReceived += n;
    this.proxy.stats.downstreamCxRxBytesTotal.inc(n);
    this.cluster!.stats.upstreamCxTxBytesTotal.inc(n);
  }

  upstreamBytes(n: number): void {
    this.info.bytesSent += n;
    this.proxy.stats.downstreamCxTxBytesTotal.inc(n);
    this.cluster!.stats.upstreamCxRxBytesTotal.inc(n);
  }

  downstreamReadPaused(paused: boolean): void {
    const s = this.proxy.stats;
    (paused ? s.downstreamFlowControlPausedReadingTotal : s.downstreamFlowControlResumedReadingTotal).inc();
    const flow = (this.flow ??= upstreamFlowStats(this.proxy.store, this.cluster!));
    (paused ? flow.backedUp : flow.drained).inc();
  }

  upstreamReadPaused(paused: boolean): void {
    const flow = (this.flow ??= upstreamFlowStats(this.proxy.store, this.cluster!));
    (paused ? flow.pausedReading : flow.resumedReading).inc();
  }

  upstreamFlushing(active: boolean): void {
    if (active) {
      this.proxy.stats.upstreamFlushTotal.inc();
      this.proxy.stats.upstreamFlushActive.add(1);
    } else {
      this.proxy.stats.upstreamFlushActive.sub(1);
    }
  }

  idleTimeout(): void {
    this.proxy.stats.idleTimeout.inc();
  }
}

