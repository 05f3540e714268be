// Envoy's tcp_proxy network filter: each downstream connection gets an upstream connection to a
// host of the (weighted) cluster; bytes flow both ways with back-pressure (pipe pauses the faster
// side), half-close is passed on, and the idle timeout closes both.
import net from 'node:net';
import type { TcpProxy } from '../config/model.ts';
import type { ConnectionFacts, ChainHandler } from '../listener/index.ts';
import { createAccessLogger, StreamInfo, type AccessLogger } from '../access-log/index.ts';
import type { Counter, Gauge, Store } from '../stats/index.ts';
import type { ClusterManager, Host, UpstreamCluster } from '../upstream/index.ts';

export interface TcpProxyContext {
  store: Store;
  clusters: ClusterManager;
  log(line: string): void;
}

interface TcpStats {
  downstreamCxTotal: Counter;
  downstreamCxNoRoute: Counter;
  downstreamCxTxBytesTotal: Counter;
  downstreamCxRxBytesTotal: Counter;
  idleTimeout: Counter;
  upstreamFlushActive: Gauge;
  maxConnectAttemptsExceeded: Counter;
}

export class TcpProxyHandler implements ChainHandler {
  private readonly config: TcpProxy;
  private readonly ctx: TcpProxyContext;
  private readonly stats: TcpStats;
  private readonly loggers: AccessLogger[];
  private readonly sockets = new Set<net.Socket>();

  constructor(config: TcpProxy, ctx: TcpProxyContext) {
    this.config = config;
    this.ctx = ctx;
    const p = `tcp.${config.statPrefix}.`;
    this.stats = {
      downstreamCxTotal: ctx.store.counter(p + 'downstream_cx_total'),
      downstreamCxNoRoute: ctx.store.counter(p + 'downstream_cx_no_route'),
      downstreamCxTxBytesTotal: ctx.store.counter(p + 'downstream_cx_tx_bytes_total'),
      downstreamCxRxBytesTotal: ctx.store.counter(p + 'downstream_cx_rx_bytes_total'),
      idleTimeout: ctx.store.counter(p + 'idle_timeout'),
      upstreamFlushActive: ctx.store.gauge(p + 'upstream_flush_active'),
      maxConnectAttemptsExceeded: ctx.store.counter(p + 'max_connect_attempts_exceeded'),
    };
    this.loggers = config.accessLog.map((a) => createAccessLogger(a));
  }

  onConnection(downstream: net.Socket, facts: ConnectionFacts): void {
    this.stats.downstreamCxTotal.inc();
    this.sockets.add(downstream);
    downstream.pause();
    const info = new StreamInfo();
    info.downstreamRemoteAddress = `${facts.sourceIp}:${facts.sourcePort}`;
    info.downstreamDirectRemoteAddress = info.downstreamRemoteAddress;
    info.downstreamLocalAddress = `${facts.destinationIp}:${facts.destinationPort}`;
    info.requestedServerName = facts.serverName;
    const start = performance.now();
    let upstream: net.Socket | null = null;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.sockets.delete(downstream);
      info.bytesReceived = downstream.bytesRead;
      info.bytesSent = downstream.bytesWritten;
      info.durationMs = performance.now() - start;
      this.stats.downstreamCxRxBytesTotal.inc(downstream.bytesRead);
      this.stats.downstreamCxTxBytesTotal.inc(downstream.bytesWritten);
      for (const l of this.loggers) l.log(info);
    };
    downstream.once('close', () => {
      upstream?.destroy();
      finish();
    });
    downstream.on('error', () => downstream.destroy());

    const clusterName = this.pickCluster();
    const cluster = clusterName === undefined ? undefined : this.ctx.clusters.get(clusterName);
    if (cluster === undefined) {
      this.stats.downstreamCxNoRoute.inc();
      info.setResponseFlag('NR');
      downstream.destroy();
      return;
    }
    info.upstreamCluster = cluster.config.name;
    const tried: Host[] = [];
    const connect = (attemptsLeft: number) => {
      const host = cluster.chooseHost({ exclude: tried.length > 0 ? (h) => tried.includes(h as Host) : undefined });
      if (host === null) {
        cluster.stats.upstreamCxNone.inc();
        info.setResponseFlag('UH');
        downstream.destroy();
        return;
      }
      tried.push(host);
      info.upstreamHost = host.address;
      const socket = net.connect({ host: host.ip, port: host.port, noDelay: true, allowHalfOpen: true });
      upstream = socket;
      let connected = false;
      countConnect(cluster, host);
      socket.once('close', () => uncountConnect(cluster, host, socket));
      const connectTimer = setTimeout(() => socket.destroy(new Error('connect timeout')), cluster.config.connectTimeoutMs);
      socket.once('connect', () => {
        connected = true;
        clearTimeout(connectTimer);
        info.upstreamLocalAddress = `${socket.localAddress}:${socket.localPort}`;
        this.splice(downstream, socket);
      });
      socket.on('error', () => {
        clearTimeout(connectTimer);
        if (!connected) {
          cluster.stats.upstreamCxConnectFail.inc();
          host.stats.cxConnectFail++;
          if (attemptsLeft > 1 && !downstream.destroyed) {
            connect(attemptsLeft - 1);
            return;
          }
          if (this.config.maxConnectAttempts > 1) this.stats.maxConnectAttemptsExceeded.inc();
          info.setResponseFlag('UF');
        }
        downstream.destroy();
      });
    };
    connect(this.config.maxConnectAttempts);
  }

  drain(): void {
    // TCP has no request boundary to drain at: connections finish on their own or at the listener's drain deadline.
  }

  private pickCluster(): string | undefined {
    const spec = this.config.cluster;
    if (spec.kind === 'cluster') return spec.name;
    if (spec.kind !== 'weighted_clusters') return undefined;
    let r = Math.random() * spec.totalWeight;
    for (const c of spec.clusters) {
      r -= c.weight;
      if (r < 0) return c.name;
    }
    return spec.clusters[spec.clusters.length - 1]?.name;
  }

  /** Both directions with back-pressure and half-close; idle_timeout closes both. */
  private splice(downstream: net.Socket, upstream: net.Socket): void {
    downstream.allowHalfOpen = true;
    // Once the upstream is gone, give the downstream what was written, then close it.
    upstream.once('close', () => {
      if (!downstream.destroyed) downstream.end();
    });
    downstream.once('close', () => upstream.destroy());
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    downstream.resume();
    const idle = this.config.idleTimeoutMs;
    if (idle > 0) {
      const onIdle = () => {
        this.stats.idleTimeout.inc();
        downstream.destroy();
        upstream.destroy();
      };
      downstream.setTimeout(idle, onIdle);
      upstream.setTimeout(idle, onIdle);
    }
  }
}

function countConnect(cluster: UpstreamCluster, host: Host): void {
  cluster.stats.upstreamCxTotal.inc();
  cluster.stats.upstreamCxActive.add(1);
  host.stats.cxTotal++;
  host.stats.cxActive++;
}

function uncountConnect(cluster: UpstreamCluster, host: Host, socket: net.Socket): void {
  cluster.stats.upstreamCxActive.sub(1);
  cluster.stats.upstreamCxDestroy.inc();
  cluster.stats.upstreamCxRxBytesTotal.inc(socket.bytesRead);
  cluster.stats.upstreamCxTxBytesTotal.inc(socket.bytesWritten);
  host.stats.cxActive--;
}
