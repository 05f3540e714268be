// Envoy's outlier detection (passive health checking) for one cluster in one worker. The router
// reports every attempt's outcome per host; consecutive errors eject at once, success rate is
// judged every interval, and the interval sweep also brings ejected hosts back. An ejection sets
// the host's failed_outlier_check flag. Each worker detects on its own traffic; ejections it
// learns from other workers (applyRemote) only set the flag, so stats count each ejection once.
import type { OutlierDetection } from '../config/model.ts';
import type { Counter, Gauge, Store } from '../stats/index.ts';
import { HEALTH_FLAG, type Host } from './host.ts';

/** An attempt's outcome that is not an HTTP status: Envoy's local-origin results. */
export type LocalOriginResult = 'connect-success' | 'connect-failed' | 'timeout';

type EjectionType = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure' | 'success_rate';

/** Called on every ejection and unejection this worker decides. */
export type EjectionListener = (address: string, ejected: boolean) => void;

export interface OutlierClock {
  now(): number; // ms, monotonic
  /** Calls fn every ms until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

const REAL_CLOCK: OutlierClock = {
  now: () => performance.now(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** What the detector needs of its cluster. */
export interface OutlierTarget {
  hostByAddress(address: string): Host | undefined;
  healthChanged(): void;
}

export interface OutlierOptions {
  onEjection?: EjectionListener;
  clock?: OutlierClock;
  random?: () => number;
}

interface Bucket {
  success: number;
  total: number;
}

class HostMonitor {
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  current: Bucket = { success: 0, total: 0 }; // this interval's responses
  last: Bucket = { success: 0, total: 0 }; // the finished interval's, judged by success rate
  ejectTimeBackoff = 0; // multiplier of base_ejection_time: up on ejection, down while healthy
  ejectedAt = -1; // set while ejected by this worker
  unejectedAt = -1;
  remoteEjectedAt = -1; // set while ejected by another worker

  ejected(): boolean {
    return this.ejectedAt >= 0 || this.remoteEjectedAt >= 0;
  }

  resetConsecutive(): void {
    this.consecutive5xx = 0;
    this.consecutiveGatewayFailure = 0;
    this.consecutiveLocalOriginFailure = 0;
  }
}

class OutlierStats {
  readonly active: Gauge;
  readonly overflow: Counter;
  readonly enforcedTotal: Counter;
  readonly total: Counter; // deprecated in Envoy, still emitted
  readonly consecutive5xx: Counter; // deprecated in Envoy, still emitted
  readonly successRate: Counter; // deprecated in Envoy, still emitted
  readonly detected: Record<EjectionType, Counter>;
  readonly enforced: Record<EjectionType, Counter>;

  constructor(store: Store, statName: string) {
    const p = `cluster.${statName}.outlier_detection.`;
    const c = (n: string) => store.counter(p + n);
    this.active = store.gauge(p + 'ejections_active');
    this.overflow = c('ejections_overflow');
    this.enforcedTotal = c('ejections_enforced_total');
    this.total = c('ejections_total');
    this.consecutive5xx = c('ejections_consecutive_5xx');
    this.successRate = c('ejections_success_rate');
    const types: EjectionType[] = ['consecutive_5xx', 'consecutive_gateway_failure', 'consecutive_local_origin_failure', 'success_rate'];
    this.detected = Object.fromEntries(types.map((t) => [t, c(`ejections_detected_${t}`)])) as Record<EjectionType, Counter>;
    this.enforced = Object.fromEntries(types.map((t) => [t, c(`ejections_enforced_${t}`)])) as Record<EjectionType, Counter>;
  }
}

export class OutlierDetector {
  readonly config: OutlierDetection;
  private readonly target: OutlierTarget;
  private readonly stats: OutlierStats;
  private readonly monitors = new Map<string, HostMonitor>();
  private readonly clock: OutlierClock;
  private readonly random: () => number;
  private readonly onEjection: EjectionListener | undefined;
  private readonly stop: () => void;
  private activeHere = 0;

  constructor(config: OutlierDetection, target: OutlierTarget, store: Store, statName: string, options: OutlierOptions = {}) {
    this.config = config;
    this.target = target;
    this.stats = new OutlierStats(store, statName);
    this.stats.active.set(0);
    this.clock = options.clock ?? REAL_CLOCK;
    this.random = options.random ?? Math.random;
    this.onEjection = options.onEjection;
    this.stop = this.clock.every(config.intervalMs, () => this.sweep());
  }

  /** Follows the cluster's host set: new addresses get a monitor, removed ones lose theirs. */
  setHosts(addresses: Iterable<string>): void {
    const live = new Set(addresses);
    for (const [address, m] of this.monitors) {
      if (live.has(address)) continue;
      if (m.ejectedAt >= 0) this.setActiveHere(-1);
      this.monitors.delete(address);
    }
    for (const address of live) if (!this.monitors.has(address)) this.monitors.set(address, new HostMonitor());
  }

  /** An upstream response's status (Envoy's putHttpResponseCode). */
  putHttpStatus(address: string, status: number): void {
    const m = this.monitors.get(address);
    if (m === undefined) return;
    m.current.total++;
    if (status < 500 || status > 599) {
      m.current.success++;
      m.consecutive5xx = 0;
      m.consecutiveGatewayFailure = 0;
      return;
    }
    if (status >= 502 && status <= 504) {
      if (++m.consecutiveGatewayFailure === this.config.consecutiveGatewayFailure) this.onConsecutive(address, m, 'consecutive_gateway_failure');
    } else {
      m.consecutiveGatewayFailure = 0;
    }
    if (++m.consecutive5xx === this.config.consecutive5xx) this.onConsecutive(address, m, 'consecutive_5xx');
  }

  /**
   * A local-origin outcome. Without split_external_local_origin_errors it counts as the status
   * Envoy maps it to (connect failure 503, timeout 504); with it, it has its own counter.
   */
  putLocalOrigin(address: string, result: LocalOriginResult): void {
    if (!this.config.splitExternalLocalOriginErrors) {
      if (result === 'connect-failed') this.putHttpStatus(address, 503);
      else if (result === 'timeout') this.putHttpStatus(address, 504);
      return;
    }
    const m = this.monitors.get(address);
    if (m === undefined) return;
    if (result === 'connect-success') m.consecutiveLocalOriginFailure = 0;
    else if (++m.consecutiveLocalOriginFailure === this.config.consecutiveLocalOriginFailure) this.onConsecutive(address, m, 'consecutive_local_origin_failure');
  }

  /** Applies an ejection or unejection another worker decided. */
  applyRemote(address: string, ejected: boolean): void {
    const m = this.monitors.get(address);
    if (m === undefined) return;
    if (ejected) {
      if (m.ejected()) return;
      m.remoteEjectedAt = this.clock.now();
      this.setFlag(address, true);
    } else if (m.remoteEjectedAt >= 0) {
      this.clearRemote(address, m);
    }
  }

  close(): void {
    this.stop();
  }

  /** The interval's work: unejections, success rate ejections, back-off decay. */
  sweep(): void {
    const now = this.clock.now();
    for (const [address, m] of this.monitors) {
      if (m.ejectedAt >= 0 && now - m.ejectedAt >= Math.min(this.config.baseEjectionTimeMs * m.ejectTimeBackoff, this.config.maxEjectionTimeMs)) {
        this.uneject(address, m, now);
      }
      // A remote ejection whose unejection never arrived (its worker died) lapses after the longest possible ejection.
      if (m.remoteEjectedAt >= 0 && now - m.remoteEjectedAt >= this.config.maxEjectionTimeMs) this.clearRemote(address, m);
      m.last = m.current;
      m.current = { success: 0, total: 0 };
    }
    this.successRateEjections();
    for (const m of this.monitors.values()) {
      if (!m.ejected() && m.unejectedAt >= 0 && now - m.unejectedAt >= this.config.intervalMs && m.ejectTimeBackoff > 0) m.ejectTimeBackoff--;
    }
  }

  private onConsecutive(address: string, m: HostMonitor, type: EjectionType): void {
    if (m.ejected()) return;
    this.stats.detected[type].inc();
    this.eject(address, m, type);
    // Reset so a new bout of errors is detected even without a success in between.
    if (type === 'consecutive_5xx') {
      this.stats.consecutive5xx.inc();
      m.consecutive5xx = 0;
    } else if (type === 'consecutive_gateway_failure') {
      m.consecutiveGatewayFailure = 0;
    } else {
      m.consecutiveLocalOriginFailure = 0;
    }
  }

  private eject(address: string, m: HostMonitor, type: EjectionType): void {
    let ejected = 0;
    for (const other of this.monitors.values()) if (other.ejected()) ejected++;
    // Envoy counts the host about to be ejected; always_eject_one_host is not modelled, so it is off.
    if ((100 * (ejected + 1)) / this.monitors.size > Math.min(100, this.config.maxEjectionPercent)) {
      this.stats.overflow.inc();
      return;
    }
    if (type === 'consecutive_5xx' || type === 'success_rate') this.stats.total.inc();
    if (this.random() * 100 >= this.enforcing(type)) return;
    const base = this.config.baseEjectionTimeMs;
    m.ejectedAt = this.clock.now();
    if (m.ejectTimeBackoff * base < this.config.maxEjectionTimeMs + base) m.ejectTimeBackoff++;
    this.setActiveHere(1);
    this.stats.enforcedTotal.inc();
    this.stats.enforced[type].inc();
    this.setFlag(address, true);
    this.onEjection?.(address, true);
  }

  private uneject(address: string, m: HostMonitor, now: number): void {
    m.ejectedAt = -1;
    m.unejectedAt = now;
    m.resetConsecutive();
    this.setActiveHere(-1);
    if (m.remoteEjectedAt < 0) this.setFlag(address, false);
    this.onEjection?.(address, false);
  }

  private clearRemote(address: string, m: HostMonitor): void {
    m.remoteEjectedAt = -1;
    m.resetConsecutive();
    if (m.ejectedAt < 0) this.setFlag(address, false);
  }

  private enforcing(type: EjectionType): number {
    switch (type) {
      case 'consecutive_5xx':
        return this.config.enforcingConsecutive5xx;
      case 'consecutive_gateway_failure':
        return this.config.enforcingConsecutiveGatewayFailure;
      case 'consecutive_local_origin_failure':
        return this.config.enforcingConsecutiveLocalOriginFailure;
      case 'success_rate':
        return this.config.enforcingSuccessRate;
    }
  }

  /** Ejects hosts whose success rate is below mean - stdev_factor x stdev of the hosts with enough requests. */
  private successRateEjections(): void {
    const { successRateMinimumHosts: minHosts, successRateRequestVolume: volume } = this.config;
    if (this.monitors.size < minHosts) return;
    const valid: { address: string; m: HostMonitor; rate: number }[] = [];
    let sum = 0;
    for (const [address, m] of this.monitors) {
      if (m.ejected() || m.last.total === 0 || m.last.total < volume) continue;
      const rate = (m.last.success * 100) / m.last.total;
      valid.push({ address, m, rate });
      sum += rate;
    }
    if (valid.length === 0 || valid.length < minHosts) return;
    const mean = sum / valid.length;
    let variance = 0;
    for (const v of valid) variance += (v.rate - mean) ** 2;
    const threshold = mean - (this.config.successRateStdevFactor / 1000) * Math.sqrt(variance / valid.length);
    for (const v of valid) {
      if (v.rate >= threshold) continue;
      this.stats.successRate.inc();
      this.stats.detected.success_rate.inc();
      this.eject(v.address, v.m, 'success_rate');
    }
  }

  private setActiveHere(delta: number): void {
    this.activeHere += delta;
    this.stats.active.set(this.activeHere);
  }

  private setFlag(address: string, ejected: boolean): void {
    const host = this.target.hostByAddress(address);
    if (host === undefined) return;
    if (ejected) host.healthFlags |= HEALTH_FLAG.failedOutlierCheck;
    else host.healthFlags &= ~HEALTH_FLAG.failedOutlierCheck;
    this.target.healthChanged();
  }
}
