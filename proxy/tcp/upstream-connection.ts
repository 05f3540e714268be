// A raw TCP connection to one upstream host, for the TCP proxy and for HTTP upgrades (websocket,
// CONNECT): it applies the cluster's connect_timeout and keeps the cluster's and host's connection
// stats, circuit breaker count and outlier results as Envoy's TCP connection pool does.
import net from 'node:net';
import type { Counter, Store } from '../stats/index.ts';
import type { Host, UpstreamCluster } from '../upstream/index.ts';

export type ConnectOutcome = { ok: true; socket: net.Socket } | { ok: false; timeout: boolean; reason: string };

/** Connects to host; resolves once connected or failed (the socket is destroyed on failure). */
export function connectUpstream(cluster: UpstreamCluster, host: Host): Promise<ConnectOutcome> {
  const stats = cluster.stats;
  const socket = net.connect({ host: host.ip, port: host.port, localAddress: cluster.config.upstreamBindAddress, noDelay: true, allowHalfOpen: true });
  stats.upstreamCxTotal.inc();
  stats.upstreamCxActive.add(1);
  host.stats.cxTotal++;
  host.stats.cxActive++;
  cluster.breaker.connectionOpened();
  socket.once('close', () => {
    stats.upstreamCxActive.sub(1);
    stats.upstreamCxDestroy.inc();
    host.stats.cxActive--;
    cluster.breaker.connectionClosed();
  });
  return new Promise((resolve) => {
    const fail = (timeout: boolean, reason: string) => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      stats.upstreamCxConnectFail.inc();
      if (timeout) stats.upstreamCxConnectTimeout.inc();
      host.stats.cxConnectFail++;
      cluster.outlier?.putLocalOrigin(host.address, timeout ? 'timeout' : 'connect-failed');
      socket.destroy();
      resolve({ ok: false, timeout, reason });
    };
    const onError = (err: Error) => fail(false, err.message);
    const onConnect = () => {
      clearTimeout(timer);
      socket.off('error', onError);
      cluster.outlier?.putLocalOrigin(host.address, 'connect-success');
      resolve({ ok: true, socket });
    };
    const timer = setTimeout(() => {
      socket.off('error', onError);
      socket.on('error', () => {}); // the destroy below may still report the aborted connect
      fail(true, 'connect timeout');
    }, cluster.config.connectTimeoutMs);
    socket.once('error', onError);
    socket.once('connect', onConnect);
  });
}

/** The cluster's flow-control counters for a raw upstream connection (Envoy's upstream_flow_control_*). */
export interface UpstreamFlowStats {
  pausedReading: Counter; // reads from the upstream paused: the downstream is not taking bytes
  resumedReading: Counter;
  backedUp: Counter; // the upstream's write buffer is full: reads from the downstream paused
  drained: Counter;
}

export function upstreamFlowStats(store: Store, cluster: UpstreamCluster): UpstreamFlowStats {
  const prefix = `cluster.${cluster.config.altStatName || cluster.config.name}.upstream_flow_control_`;
  return {
    pausedReading: store.counter(prefix + 'paused_reading_total'),
    resumedReading: store.counter(prefix + 'resumed_reading_total'),
    backedUp: store.counter(prefix + 'backed_up_total'),
    drained: store.counter(prefix + 'drained_total'),
  };
}
