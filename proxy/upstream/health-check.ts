// Active health checking, once per Legate instance (in the primary): one session per host of
// every cluster with health_checks, probing on Envoy's schedule and applying Envoy's thresholds.
// Changes are reported to listeners, which tell the workers (ClusterManager.setActiveHealth).
//
// As Envoy, a host starts failed_active_hc until its first check: the first success makes it
// healthy at once, later transitions need healthy_threshold successes or unhealthy_threshold
// network failures; a wrong answer (HTTP status, gRPC status or serving status) fails it at once.
import { matchTransport } from './transport-match.ts';
import type { Cluster, HealthCheck } from '../config/model.ts';
import type { Counter, Gauge, Store } from '../stats/index.ts';
import { needsDns, resolveAssignment } from './dns.ts';
import { GrpcProbe } from './grpc-health-probe.ts';
import { createProbe, ProbeTls, type Probe, type ProbeResult } from './health-probe.ts';
import { hostAddress } from './host.ts';

// Not an ESM import: that reads every export of node:util, loading what its lazy ones need.
const { isDeepStrictEqual } = process.getBuiltinModule('node:util');

export type HealthChangeListener = (cluster: string, address: string, failed: boolean) => void;

export interface HostHealthStatus {
  cluster: string;
  address: string;
  failed: boolean;
}

export interface HealthCheckManagerOptions {
  store: Store;
  /**
   * Whether the cluster has ever opened an upstream connection; when not, checks run every
   * no_traffic_interval, as Envoy's. Without it every cluster counts as having traffic.
   */
  hadTraffic?: (cluster: string) => boolean;
  random?: () => number;
  log?: (line: string) => void;
}

/** What a check's result did to the host (Envoy's HealthTransition). */
type Transition = 'unchanged' | 'changed' | 'pending';

interface Endpoint {
  address: string; // the host's identity: ip:port
  ip: string;
  checkPort: number;
  transportIndex?: number; // transport_socket_matches: the host's entry (-1: the cluster's transport_socket)
}

class HealthCheckStats {
  readonly attempt: Counter;
  readonly success: Counter;
  readonly failure: Counter;
  readonly networkFailure: Counter;
  readonly healthy: Gauge;

  constructor(store: Store, statName: string) {
    const p = `cluster.${statName}.health_check.`;
    this.attempt = store.counter(p + 'attempt');
    this.success = store.counter(p + 'success');
    this.failure = store.counter(p + 'failure');
    this.networkFailure = store.counter(p + 'network_failure');
    // Envoy's: passive failures come from x-envoy-immediate-health-check-fail, service name
    // mismatches count verify_cluster; Legate checks neither, so they stay 0.
    store.counter(p + 'passive_failure');
    store.counter(p + 'verify_cluster');
    this.healthy = store.gauge(p + 'healthy', 'never');
  }
}

class Session {
  endpoint: Endpoint;
  failed = true;
  private readonly checker: ClusterChecker;
  private probe: Probe;
  private numHealthy = 0;
  private numUnhealthy = 0;
  private firstCheck = true;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(checker: ClusterChecker, endpoint: Endpoint) {
    this.checker = checker;
    this.endpoint = endpoint;
    this.probe = checker.probeFor(endpoint);
  }

  /** First check at once, as Envoy without initial_jitter. */
  start(): void {
    void this.check();
  }

  /** New check settings or port: a new probe; the host's health is kept. */
  reprobe(endpoint: Endpoint): void {
    this.probe.close();
    this.endpoint = endpoint;
    this.probe = this.checker.probeFor(endpoint);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.probe.close();
  }

  private async check(): Promise<void> {
    this.timer = undefined;
    const stats = this.checker.stats;
    stats.attempt.inc();
    const result: ProbeResult = await this.probe.run(this.checker.config.timeoutMs);
    if (this.closed) return;
    if (result === 'success') this.onSuccess();
    else this.onFailure(result === 'network-failure');
  }

  private onSuccess(): void {
    this.numUnhealthy = 0;
    let transition: Transition = 'unchanged';
    if (this.failed) {
      // The very first result moves a host to healthy at once: faster start-up, as Envoy.
      if (this.firstCheck || ++this.numHealthy === this.checker.config.healthyThreshold) {
        this.failed = false;
        transition = 'changed';
      } else {
        transition = 'pending';
      }
    }
    this.checker.stats.success.inc();
    this.finishCheck(true, transition);
  }

  private onFailure(network: boolean): void {
    this.numHealthy = 0;
    let transition: Transition = 'unchanged';
    if (!this.failed) {
      // Only network failures wait for unhealthy_threshold; a wrong answer fails at once.
      if (!network || ++this.numUnhealthy === this.checker.config.unhealthyThreshold) {
        this.failed = true;
        transition = 'changed';
      } else {
        transition = 'pending';
      }
    }
    this.checker.stats.failure.inc();
    if (network) this.checker.stats.networkFailure.inc();
    this.finishCheck(false, transition);
  }

  private finishCheck(healthy: boolean, transition: Transition): void {
    this.firstCheck = false;
    if (transition === 'changed') {
      this.numHealthy = 0;
      this.numUnhealthy = 0;
      this.checker.hostChanged(this);
    }
    this.timer = setTimeout(() => void this.check(), this.checker.interval(healthy, transition));
    this.timer.unref();
  }
}

/** The health checker of one cluster: its config, stats and a session per host. */
class ClusterChecker {
  readonly name: string;
  config: HealthCheck;
  stats: HealthCheckStats;
  private readonly manager: HealthCheckManager;
  private readonly sessions = new Map<string, Session>();
  private dnsTimer: NodeJS.Timeout | undefined;
  private cluster: Cluster;

  constructor(manager: HealthCheckManager, cluster: Cluster) {
    this.manager = manager;
    this.name = cluster.name;
    this.cluster = cluster;
    this.config = cluster.healthChecks[0];
    this.stats = new HealthCheckStats(manager.store, cluster.altStatName || cluster.name);
    this.stats.healthy.set(0);
  }

  update(cluster: Cluster): void {
    const reconfigured = !isDeepStrictEqual(cluster.healthChecks[0], this.config) || !isDeepStrictEqual(cluster.tls, this.cluster.tls) ||
      !isDeepStrictEqual(cluster.transportSocketMatches, this.cluster.transportSocketMatches);
    this.cluster = cluster;
    this.config = cluster.healthChecks[0];
    this.stats = new HealthCheckStats(this.manager.store, cluster.altStatName || cluster.name);
    if (reconfigured) for (const s of this.sessions.values()) s.reprobe(s.endpoint);
    this.stopDns();
    if (!needsDns(cluster)) {
      this.setEndpoints(endpointsOf(cluster));
      return;
    }
    // The primary resolves DNS clusters itself, as the workers do, to learn their addresses.
    const resolve = async (): Promise<void> => {
      try {
        const assignment = await resolveAssignment(this.cluster);
        if (this.dnsTimer !== undefined) this.setEndpoints(endpointsOf({ ...this.cluster, loadAssignment: assignment }));
      } catch (err) {
        this.manager.log(`health check of cluster '${this.name}': DNS resolution failed (${(err as Error).message})`);
      }
    };
    this.dnsTimer = setInterval(resolve, cluster.dnsRefreshRateMs);
    this.dnsTimer.unref();
    void resolve();
  }

  probeFor(endpoint: Endpoint): Probe {
    const check = this.config.check;
    const configured = check.kind === 'http' ? check.host : check.kind === 'grpc' ? check.authority : '';
    const target = { ip: endpoint.ip, port: endpoint.checkPort, hostHeader: configured || this.name };
    // Under transport_socket_matches the probe uses the host's matched transport, as its traffic does.
    const index = endpoint.transportIndex ?? -1;
    const tls = index < 0 ? this.cluster.tls : this.cluster.transportSocketMatches![index].tls;
    if (check.kind === 'grpc') return new GrpcProbe(check, target, tls === undefined ? undefined : new ProbeTls(tls));
    return createProbe(check, target, tls);
  }

  hostChanged(session: Session): void {
    this.publishHealthy();
    this.manager.emit(this.name, session.endpoint.address, session.failed);
  }

  interval(healthy: boolean, transition: Transition): number {
    const c = this.config;
    let ms: number;
    if (!this.manager.hadTraffic(this.name)) ms = c.noTrafficIntervalMs;
    else if (healthy) ms = transition === 'pending' ? c.healthyEdgeIntervalMs : c.intervalMs;
    else ms = transition === 'pending' ? c.unhealthyEdgeIntervalMs : c.unhealthyIntervalMs;
    if (c.intervalJitterMs > 0) ms += Math.floor(this.manager.random() * c.intervalJitterMs);
    return Math.max(1, ms);
  }

  status(): HostHealthStatus[] {
    return [...this.sessions.values()].map((s) => ({ cluster: this.name, address: s.endpoint.address, failed: s.failed }));
  }

  close(): void {
    this.stopDns();
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }

  private setEndpoints(endpoints: Endpoint[]): void {
    const live = new Map(endpoints.map((e) => [e.address, e]));
    for (const [address, session] of this.sessions) {
      if (live.has(address)) continue;
      session.close();
      this.sessions.delete(address);
    }
    for (const endpoint of live.values()) {
      const running = this.sessions.get(endpoint.address);
      if (running === undefined) {
        const session = new Session(this, endpoint);
        this.sessions.set(endpoint.address, session);
        session.start();
      } else if (!isDeepStrictEqual(running.endpoint, endpoint)) {
        running.reprobe(endpoint);
      }
    }
    this.publishHealthy();
  }

  private publishHealthy(): void {
    let healthy = 0;
    for (const s of this.sessions.values()) if (!s.failed) healthy++;
    this.stats.healthy.set(healthy);
  }

  private stopDns(): void {
    if (this.dnsTimer !== undefined) clearInterval(this.dnsTimer);
    this.dnsTimer = undefined;
  }
}

function endpointsOf(cluster: Cluster): Endpoint[] {
  const out: Endpoint[] = [];
  for (const locality of cluster.loadAssignment.endpoints) {
    for (const e of locality.lbEndpoints) {
      const endpoint: Endpoint = { address: hostAddress(e.address.address, e.address.port), ip: e.address.address, checkPort: e.healthCheckPort || e.address.port };
      if (cluster.transportSocketMatches !== undefined) endpoint.transportIndex = matchTransport(cluster.transportSocketMatches, e.transportSocketMatch);
      out.push(endpoint);
    }
  }
  return out;
}

export class HealthCheckManager {
  readonly store: Store;
  readonly random: () => number;
  readonly hadTraffic: (cluster: string) => boolean;
  readonly log: (line: string) => void;
  private readonly checkers = new Map<string, ClusterChecker>();
  private readonly listeners: HealthChangeListener[] = [];

  constructor(options: HealthCheckManagerOptions) {
    this.store = options.store;
    this.random = options.random ?? Math.random;
    this.hadTraffic = options.hadTraffic ?? (() => true);
    this.log = options.log ?? (() => {});
  }

  /** Applies a cluster set: hosts that stay keep their state; new hosts start failed and are checked at once. */
  update(clusters: Cluster[]): void {
    const checked = new Map(clusters.filter((c) => c.healthChecks.length > 0).map((c) => [c.name, c]));
    for (const [name, checker] of this.checkers) {
      if (checked.has(name)) continue;
      checker.close();
      this.checkers.delete(name);
    }
    for (const cluster of checked.values()) {
      let checker = this.checkers.get(cluster.name);
      if (checker === undefined) {
        checker = new ClusterChecker(this, cluster);
        this.checkers.set(cluster.name, checker);
      }
      checker.update(cluster);
    }
  }

  /** Called on every transition of a host between healthy and failed. */
  onChange(listener: HealthChangeListener): void {
    this.listeners.push(listener);
  }

  /** Every checked host's current state: for /clusters and to bring a new worker up to date. */
  status(): HostHealthStatus[] {
    return [...this.checkers.values()].flatMap((c) => c.status());
  }

  close(): void {
    for (const checker of this.checkers.values()) checker.close();
    this.checkers.clear();
  }

  emit(cluster: string, address: string, failed: boolean): void {
    for (const listener of this.listeners) listener(cluster, address, failed);
  }
}
