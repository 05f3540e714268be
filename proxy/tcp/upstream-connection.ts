// A raw TCP connection to one upstream host, for HTTP upgrades (websocket, CONNECT): a promise
// over the upstream's connect (upstream/pool/connect.ts), which applies the cluster's
// connect_timeout and keeps the cluster's and host's connection stats, circuit breaker count and
// outlier results as Envoy's TCP connection pool does. The TCP proxy uses the callback form.
import type net from 'node:net';
import type { Counter, Store } from '../stats/index.ts';
import { connect, type Host, type UpstreamCluster } from '../upstream/index.ts';

export type ConnectOutcome = { ok: true; socket: net.Socket } | { ok: false; timeout: boolean; reason: string };

/** Connects to host; resolves once connected or failed (the socket is destroyed on failure). */
export function connectUpstream(cluster: UpstreamCluster, host: Host): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    connect(cluster, host, {
      onConnect: (socket) => resolve({ ok: true, socket }),
      onConnectFailure: (reason, details) => resolve({ ok: false, timeout: reason === 'timeout', reason: details }),
    }, { allowHalfOpen: true });
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
