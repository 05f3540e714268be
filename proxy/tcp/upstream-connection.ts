// The cluster's flow-control counters for a raw upstream connection of the TCP proxy (Envoy's
// upstream_flow_control_*).
import type { Counter, Store } from '../stats/index.ts';
import type { UpstreamCluster } from '../upstream/index.ts';

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
