// One frame of the dashboard: what the proxy's stats, cluster statuses, memory figures and xDS state
// say now, shaped for the page. Pure: the caller samples (stats, clusters, memory) and keeps the
// previous frame's counter totals, from which rates are the difference over the elapsed time.
import type { ClusterSpecifier } from '../../config/model.ts';
import type { Snapshot } from '../../config/snapshot.ts';
import type { MergedHistogram, MergedStats } from '../../stats/index.ts';
import { listenerStatRoot } from '../../listener/stat-root.ts';
import type { ClusterStatus } from '../../upstream/index.ts';
import type { XdsStatus } from '../context.ts';

/** What one sample of the proxy gives. */
export interface FrameInput {
  now: number; // ms since the epoch
  state: string;
  startTime: number;
  nodeId: string;
  pid: number; // the primary's (the admin's) process
  snapshot: Snapshot;
  boundPorts: ReadonlyMap<string, number>; // listener name -> the port it is bound to
  stats: MergedStats;
  clusters: readonly ClusterStatus[];
  memory: Record<string, unknown> | undefined;
  xds: XdsStatus | undefined;
}

/** Counter totals of one frame, by key, to take the next frame's rates from. */
export interface Totals {
  time: number;
  values: Map<string, number>;
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  count: number;
}

/** A connection manager (or tcp_proxy) on a listener, by its stat_prefix. */
export interface ManagerView {
  kind: 'http' | 'tcp';
  statPrefix: string;
  rqTotal: number; // http: downstream_rq_total; tcp: downstream_cx_total
  rqActive: number;
  rps: number | null; // null on the first frame
  classes: number[]; // downstream_rq_1xx .. 5xx (http)
  latencyMs: Latency | null; // downstream_rq_time
}

export interface ListenerView {
  name: string;
  address: string;
  cxActive: number;
  cxTotal: number;
  cps: number | null;
  managers: ManagerView[];
}

export interface HostView {
  address: string;
  health: string; // 'healthy' or Envoy's /failed_... flags
  ejected: boolean;
  weight: number;
  priority: number;
  rqActive: number;
  cxActive: number;
  rqTotal: number;
  rps: number | null;
}

export interface ClusterView {
  name: string;
  type: string;
  lbPolicy: string;
  rqTotal: number;
  rps: number | null;
  rqActive: number;
  rqPendingActive: number;
  cxActive: number;
  classes: number[]; // upstream_rq_1xx .. 5xx
  latencyMs: Latency | null; // upstream_rq_time
  retries: number;
  timeouts: number;
  perTryTimeouts: number;
  overflows: { connections: number; pending: number; retries: number };
  ejectionsActive: number;
  ejectionsTotal: number;
  healthy: number;
  hosts: HostView[];
  hostsOmitted: number;
}

/** A weighted split: each cluster's configured share and the share of requests it got. */
export interface SplitView {
  where: string; // route config / virtual host / route, or the tcp_proxy's stat_prefix
  clusters: { name: string; configuredPercent: number; observedPercent: number | null; requests: number }[];
}

export interface WorkerView {
  worker: string;
  pid: number; // a worker with the primary's pid runs in the primary (--workers 1)
  rssBytes: number;
}

/** A rejected update: its type, where it came from ('ads' or 'path:<file>'), its version and why. */
export interface Nack {
  type: string;
  source: string;
  version: string;
  error: string;
  time: number;
}

export interface XdsView {
  types: { type: string; version: string; resources: number }[];
  controlPlane: { address: string; connected: boolean } | null;
  lastNack: Nack | null;
  nacks: Nack[];
}

export interface Frame {
  time: number;
  node: string;
  state: string;
  uptimeS: number;
  snapshotVersion: number;
  listeners: ListenerView[];
  clusters: ClusterView[];
  splits: SplitView[];
  workers: WorkerView[];
  xds: XdsView;
}

/** Hosts listed per cluster; the rest are counted (an EDS cluster may have thousands). */
export const MAX_HOSTS = 20;

const CLASSES = [1, 2, 3, 4, 5];

/**
 * Builds a frame. `previous` (the last frame's totals) gives the rates; `baseline` (totals when the
 * stream started, filled here on first sight) gives the observed weighted split since then.
 */
export function buildFrame(input: FrameInput, previous: Totals | null, baseline: Map<string, number>): { frame: Frame; totals: Totals } {
  const { stats } = input;
  const totals: Totals = { time: input.now, values: new Map() };
  const elapsedS = previous === null ? 0 : (input.now - previous.time) / 1000;
  // Per second since the previous frame; a counter that went down (a worker replaced) restarts at 0.
  const rate = (key: string, value: number): number | null => {
    totals.values.set(key, value);
    const before = previous?.values.get(key);
    if (before === undefined || elapsedS <= 0) return null;
    return Math.max(0, value - before) / elapsedS;
  };
  const counter = (name: string) => stats.counters.get(name) ?? 0;
  const gauge = (name: string) => stats.gauges.get(name) ?? 0;

  const listeners = input.snapshot.listeners.map((l): ListenerView => {
    const p = listenerStatRoot(l);
    const chains = l.defaultFilterChain === undefined ? l.filterChains : [...l.filterChains, l.defaultFilterChain];
    const seen = new Set<string>();
    const managers: ManagerView[] = [];
    for (const chain of chains) {
      const kind = chain.network.kind === 'http_connection_manager' ? 'http' : 'tcp';
      const key = `${kind} ${chain.network.statPrefix}`;
      if (seen.has(key)) continue;
      seen.add(key);
      managers.push(kind === 'http' ? httpManager(chain.network.statPrefix) : tcpManager(chain.network.statPrefix));
    }
    const cxTotal = counter(p + 'downstream_cx_total');
    return {
      name: l.name,
      address: l.internal === true ? l.address.address : `${l.address.address}:${input.boundPorts.get(l.name) ?? l.address.port}`,
      cxActive: gauge(p + 'downstream_cx_active'),
      cxTotal,
      cps: rate(`l ${l.name}`, cxTotal),
      managers,
    };
  });

  function httpManager(statPrefix: string): ManagerView {
    const p = `http.${statPrefix}.`;
    const rqTotal = counter(p + 'downstream_rq_total');
    return {
      kind: 'http',
      statPrefix,
      rqTotal,
      rqActive: gauge(p + 'downstream_rq_active'),
      rps: rate(`http ${statPrefix}`, rqTotal),
      classes: CLASSES.map((c) => counter(`${p}downstream_rq_${c}xx`)),
      latencyMs: latencyOf(stats.histograms.get(p + 'downstream_rq_time')),
    };
  }

  function tcpManager(statPrefix: string): ManagerView {
    const p = `tcp.${statPrefix}.`;
    const total = counter(p + 'downstream_cx_total');
    return { kind: 'tcp', statPrefix, rqTotal: total, rqActive: 0, rps: rate(`tcp ${statPrefix}`, total), classes: [], latencyMs: null };
  }

  const statusByName = new Map(input.clusters.map((c) => [c.name, c]));
  const clusterRequests = new Map<string, number>();
  const clusters = input.snapshot.clusters.map((c): ClusterView => {
    const p = `cluster.${c.altStatName || c.name}.`;
    const rqTotal = counter(p + 'upstream_rq_total');
    clusterRequests.set(c.name, rqTotal);
    const hosts = statusByName.get(c.name)?.hosts ?? [];
    return {
      name: c.name,
      type: c.type,
      lbPolicy: c.lbPolicy,
      rqTotal,
      rps: rate(`c ${c.name}`, rqTotal),
      rqActive: gauge(p + 'upstream_rq_active'),
      rqPendingActive: gauge(p + 'upstream_rq_pending_active'),
      cxActive: gauge(p + 'upstream_cx_active'),
      classes: CLASSES.map((k) => counter(`${p}upstream_rq_${k}xx`)),
      latencyMs: latencyOf(stats.histograms.get(p + 'upstream_rq_time')),
      retries: counter(p + 'upstream_rq_retry'),
      timeouts: counter(p + 'upstream_rq_timeout'),
      perTryTimeouts: counter(p + 'upstream_rq_per_try_timeout'),
      overflows: { connections: counter(p + 'upstream_cx_overflow'), pending: counter(p + 'upstream_rq_pending_overflow'), retries: counter(p + 'upstream_rq_retry_overflow') },
      ejectionsActive: gauge(p + 'outlier_detection.ejections_active'),
      ejectionsTotal: counter(p + 'outlier_detection.ejections_enforced_total'),
      healthy: hosts.filter((h) => h.healthFlags === 'healthy').length, // as membership_healthy: degraded hosts are not
      hosts: hosts.slice(0, MAX_HOSTS).map((h) => ({
        address: h.address,
        health: h.healthFlags,
        ejected: h.healthFlags.includes('/failed_outlier_check'),
        weight: h.weight,
        priority: h.priority,
        rqActive: h.stats.rqActive,
        cxActive: h.stats.cxActive,
        rqTotal: h.stats.rqTotal,
        rps: rate(`h ${c.name} ${h.address}`, h.stats.rqTotal),
      })),
      hostsOmitted: Math.max(0, hosts.length - MAX_HOSTS),
    };
  });

  const splits: SplitView[] = [];
  const split = (where: string, specifier: ClusterSpecifier) => {
    if (specifier.kind !== 'weighted_clusters' || specifier.totalWeight <= 0) return;
    const counts = specifier.clusters.map((wc) => {
      const now = clusterRequests.get(wc.name) ?? 0;
      const key = `c ${wc.name}`;
      if (!baseline.has(key)) baseline.set(key, now);
      return Math.max(0, now - baseline.get(key)!);
    });
    const sum = counts.reduce((a, b) => a + b, 0);
    splits.push({
      where,
      clusters: specifier.clusters.map((wc, i) => ({
        name: wc.name,
        configuredPercent: (100 * wc.weight) / specifier.totalWeight,
        observedPercent: sum === 0 ? null : (100 * counts[i]) / sum,
        requests: counts[i],
      })),
    });
  };
  for (const rc of Object.values(input.snapshot.routeConfigs)) {
    for (const vh of rc.virtualHosts) {
      for (const [i, route] of vh.routes.entries()) {
        if (route.action.kind === 'route') split(`${rc.name} / ${vh.name} / ${route.name || `route ${i}`}`, route.action.cluster);
      }
    }
  }
  for (const l of input.snapshot.listeners) {
    for (const chain of l.filterChains) if (chain.network.kind === 'tcp_proxy') split(`${l.name} / tcp_proxy ${chain.network.statPrefix}`, chain.network.cluster);
  }

  return {
    frame: {
      time: input.now,
      node: input.nodeId,
      state: input.state,
      uptimeS: Math.floor((input.now - input.startTime) / 1000),
      snapshotVersion: input.snapshot.version,
      listeners,
      clusters,
      splits,
      workers: workersOf(input.memory, input.pid),
      xds: xdsOf(input.snapshot, input.xds),
    },
    totals,
  };
}

function latencyOf(h: MergedHistogram | undefined): Latency | null {
  if (h === undefined || h.count === 0) return null;
  const [p50, p90, p99] = h.quantiles([0.5, 0.9, 0.99]);
  return { p50, p90, p99, count: h.count };
}

/** The primary's and each worker's RSS from the admin context's memory() (as /server_info shows it). */
function workersOf(memory: Record<string, unknown> | undefined, primaryPid: number): WorkerView[] {
  const out: WorkerView[] = [];
  if (memory === undefined) return out;
  if (typeof memory.primary_rss_bytes === 'number') out.push({ worker: 'primary', pid: primaryPid, rssBytes: memory.primary_rss_bytes });
  const workers = Array.isArray(memory.workers) ? (memory.workers as Record<string, unknown>[]) : [];
  for (const w of workers) {
    if (w === null || typeof w !== 'object') continue;
    out.push({ worker: String(w.worker), pid: Number(w.pid ?? 0), rssBytes: Number(w.rss_bytes ?? 0) });
  }
  return out;
}

function xdsOf(snapshot: Snapshot, status: XdsStatus | undefined): XdsView {
  const v = snapshot.versions;
  const joined = (versions: Record<string, string>) => [...new Set(Object.values(versions))].join(', ');
  const nacks = [...(status?.rejected ?? [])].sort((a, b) => b.time - a.time).map((r) => ({ type: r.type.toUpperCase(), source: r.source, version: r.version, error: r.error, time: r.time }));
  return {
    types: [
      { type: 'LDS', version: v.lds, resources: snapshot.listeners.length },
      { type: 'CDS', version: v.cds, resources: snapshot.clusters.length },
      { type: 'RDS', version: joined(v.rds), resources: Object.keys(v.rds).length },
      { type: 'EDS', version: joined(v.eds), resources: Object.keys(v.eds).length },
    ],
    controlPlane: status?.controlPlane ?? null,
    lastNack: nacks[0] ?? null,
    nacks,
  };
}
