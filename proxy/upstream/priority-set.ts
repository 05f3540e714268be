import type { LbHost } from './lb/host.ts';
import { WeightedSchedule } from './lb/weighted-schedule.ts';
import { runtime, runtimeKeys } from '../runtime/index.ts';

// A cluster's hosts grouped by priority and locality, and Envoy's rules for spreading requests
// over them: per-priority load from health and the overprovisioning factor, spill-over to
// degraded hosts, panic, and locality weights. Health is re-read only in refresh(); the
// per-request calls walk precomputed numbers and allocate nothing.

export interface PrioritySetOptions {
  overprovisioningFactor: number; // percent: 140 is Envoy's 1.4
  panicThresholdPercent: number; // healthy_panic_threshold; 0 disables panic
  localityWeighted: boolean; // common_lb_config.locality_weighted_lb_config is set
}

export type HostAvailability = 'all' | 'healthy' | 'degraded';

// One list of hosts a balancer spreads requests over (Envoy's HostsSource): a priority's all,
// healthy or degraded hosts, or one locality's healthy or degraded hosts. The sources are made
// once; refresh() replaces their `hosts`, so `id` can index per-source balancer state.
export class HostSource {
  readonly id: number;
  readonly priority: number;
  readonly availability: HostAvailability;
  hosts: readonly LbHost[] = [];

  constructor(id: number, priority: number, availability: HostAvailability) {
    this.id = id;
    this.priority = priority;
    this.availability = availability;
  }
}

export class LocalityHosts {
  readonly key: string;
  readonly weight: number; // the configured locality weight; 0 = unset
  readonly hosts: LbHost[] = [];
  readonly healthy: HostSource;
  readonly degraded: HostSource;

  constructor(key: string, weight: number, healthy: HostSource, degraded: HostSource) {
    this.key = key;
    this.weight = weight;
    this.healthy = healthy;
    this.degraded = degraded;
  }
}

export class PriorityLevel {
  readonly priority: number;
  readonly hosts: LbHost[] = [];
  readonly localities: LocalityHosts[] = [];
  readonly all: HostSource;
  readonly healthy: HostSource;
  readonly degraded: HostSource;
  // Set by refresh():
  panic = false; // balance over all hosts regardless of health
  healthyLoad = 0; // percent of requests for this priority's healthy hosts
  degradedLoad = 0; // percent of requests for its degraded hosts
  healthyAvailability = 0; // min(100, overprovisioning x healthy share), integer percent
  degradedAvailability = 0;
  healthyLocalities: LocalityChooser | null = null;
  degradedLocalities: LocalityChooser | null = null;

  constructor(priority: number, all: HostSource, healthy: HostSource, degraded: HostSource) {
    this.priority = priority;
    this.all = all;
    this.healthy = healthy;
    this.degraded = degraded;
  }
}

// Picks a locality in proportion to its effective weight, smoothly (EDF, as Envoy does).
export class LocalityChooser {
  readonly #schedule: WeightedSchedule;
  readonly #sources: HostSource[];

  constructor(weights: number[], sources: HostSource[]) {
    this.#schedule = new WeightedSchedule(weights);
    this.#sources = sources;
  }

  pick(): HostSource {
    return this.#sources[this.#schedule.pick()];
  }
}

export class PrioritySet {
  readonly levels: readonly PriorityLevel[];
  readonly sources: readonly HostSource[];
  readonly localityWeighted: boolean;
  readonly #overprovisioningFactor: number;
  readonly #panicThreshold: number;

  constructor(hosts: readonly LbHost[], opts: PrioritySetOptions) {
    this.localityWeighted = opts.localityWeighted;
    this.#overprovisioningFactor = opts.overprovisioningFactor;
    // Envoy truncates the threshold to a whole percent.
    this.#panicThreshold = Math.min(100, Math.trunc(opts.panicThresholdPercent));

    const sources: HostSource[] = [];
    const source = (priority: number, availability: HostAvailability): HostSource => {
      const s = new HostSource(sources.length, priority, availability);
      sources.push(s);
      return s;
    };
    // Priorities run 0..max without gaps, as Envoy's do; P0 exists even with no hosts.
    let maxPriority = 0;
    for (const h of hosts) maxPriority = Math.max(maxPriority, h.priority);
    const levels: PriorityLevel[] = [];
    for (let p = 0; p <= maxPriority; p++) {
      levels.push(new PriorityLevel(p, source(p, 'all'), source(p, 'healthy'), source(p, 'degraded')));
    }
    const localityIndex = new Map<string, LocalityHosts>();
    for (const h of hosts) {
      const level = levels[h.priority];
      const key = `${h.priority}\n${h.localityKey}`;
      let locality = localityIndex.get(key);
      if (locality === undefined) {
        locality = new LocalityHosts(h.localityKey, h.localityWeight, source(h.priority, 'healthy'), source(h.priority, 'degraded'));
        localityIndex.set(key, locality);
        level.localities.push(locality);
      }
      locality.hosts.push(h);
    }
    // Hosts are kept grouped by locality so every list derived from them is in the same order.
    for (const level of levels) {
      for (const locality of level.localities) for (const h of locality.hosts) level.hosts.push(h);
      level.all.hosts = level.hosts;
    }
    this.levels = levels;
    this.sources = sources;
    this.refresh();
  }

  // Re-reads every host's health and recomputes the loads, the panic flags and the host lists.
  refresh(): void {
    let totalAvailability = 0;
    for (const level of this.levels) {
      this.#classify(level);
      totalAvailability += level.healthyAvailability + level.degradedAvailability;
    }
    const normalizedAvailability = Math.min(100, totalAvailability);
    this.#distributeLoad(normalizedAvailability);
    this.#updatePanic(normalizedAvailability);
    for (const level of this.levels) {
      level.healthyLocalities = this.localityWeighted ? this.#localityChooser(level, 'healthy') : null;
      level.degradedLocalities = this.localityWeighted ? this.#localityChooser(level, 'degraded') : null;
    }
  }

  // Envoy's choosePriority: n % 100 + 1 falls into the cumulative healthy loads, then the
  // degraded ones. Returns that priority's healthy or degraded source. `n`: a uint32 (random, or
  // the request hash for consistent-hashing balancers).
  choosePriority(n: number): HostSource {
    const x = (n % 100) + 1;
    let cumulative = 0;
    for (const level of this.levels) {
      cumulative += level.healthyLoad;
      if (x <= cumulative) return level.healthy;
    }
    for (const level of this.levels) {
      cumulative += level.degradedLoad;
      if (x <= cumulative) return level.degraded;
    }
    return this.levels[0].healthy; // not reached: the loads add up to 100
  }

  // The source one pick should use: the chosen priority's hosts, all of them in panic, or one
  // locality's when locality weighted (falling back to the whole priority when no locality
  // has weight, as Envoy does).
  chooseSource(n: number): HostSource {
    const chosen = this.choosePriority(n);
    const level = this.levels[chosen.priority];
    if (level.panic) return level.all;
    const localities = chosen.availability === 'healthy' ? level.healthyLocalities : level.degradedLocalities;
    return localities === null ? chosen : localities.pick();
  }

  #classify(level: PriorityLevel): void {
    const healthy: LbHost[] = [];
    const degraded: LbHost[] = [];
    for (const locality of level.localities) {
      const localHealthy: LbHost[] = [];
      const localDegraded: LbHost[] = [];
      for (const h of locality.hosts) {
        if (h.healthy()) localHealthy.push(h);
        else if (h.degraded()) localDegraded.push(h);
      }
      locality.healthy.hosts = localHealthy;
      locality.degraded.hosts = localDegraded;
      for (const h of localHealthy) healthy.push(h);
      for (const h of localDegraded) degraded.push(h);
    }
    level.healthy.hosts = healthy;
    level.degraded.hosts = degraded;
    const total = level.hosts.length;
    const factor = this.#overprovisioningFactor;
    level.healthyAvailability = total === 0 ? 0 : Math.min(100, Math.floor((factor * healthy.length) / total));
    level.degradedAvailability = total === 0 ? 0 : Math.min(100, Math.floor((factor * degraded.length) / total));
  }

  // 100 % of requests go to healthy hosts in priority order, each priority taking its
  // availability scaled to the normalized total, then what is left to degraded hosts the same
  // way; rounding leftovers go to the first priority that has any.
  #distributeLoad(normalizedAvailability: number): void {
    for (const level of this.levels) {
      level.healthyLoad = 0;
      level.degradedLoad = 0;
    }
    if (normalizedAvailability === 0) {
      // Nothing is available: #updatePanic decides; without panic P0 gets it and finds no host.
      this.levels[0].healthyLoad = 100;
      return;
    }
    let remaining = 100;
    let firstHealthy: PriorityLevel | undefined;
    let firstDegraded: PriorityLevel | undefined;
    for (const level of this.levels) {
      if (firstHealthy === undefined && level.healthyAvailability > 0) firstHealthy = level;
      level.healthyLoad = Math.min(remaining, Math.floor((level.healthyAvailability * 100) / normalizedAvailability));
      remaining -= level.healthyLoad;
    }
    for (const level of this.levels) {
      if (firstDegraded === undefined && level.degradedAvailability > 0) firstDegraded = level;
      level.degradedLoad = Math.min(remaining, Math.floor((level.degradedAvailability * 100) / normalizedAvailability));
      remaining -= level.degradedLoad;
    }
    if (firstHealthy !== undefined) firstHealthy.healthyLoad += remaining;
    else firstDegraded!.degradedLoad += remaining;
  }

  // A priority panics when its healthy + degraded share is below the threshold, unless the
  // priorities together are fully available. When every priority panics the load follows host
  // counts instead of health (Envoy's total panic).
  // The runtime's upstream.healthy_panic_threshold, when set, overrides the cluster's; as in Envoy
  // it is read when the priorities are recomputed (a health or membership change).
  #updatePanic(normalizedAvailability: number): void {
    const threshold = Math.min(100, runtime.snapshot.getInteger(runtimeKeys.HEALTHY_PANIC_THRESHOLD, this.#panicThreshold));
    let totalPanic = true;
    for (const level of this.levels) {
      const total = level.hosts.length;
      const availablePercent = total === 0 ? 0 : (100 * (level.healthy.hosts.length + level.degraded.hosts.length)) / total;
      level.panic = normalizedAvailability < 100 && availablePercent < threshold;
      totalPanic &&= level.panic;
    }
    if (!totalPanic) return;
    let totalHosts = 0;
    for (const level of this.levels) totalHosts += level.hosts.length;
    let remaining = 100;
    let firstNonEmpty: PriorityLevel = this.levels[0];
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const level = this.levels[i];
      if (level.hosts.length > 0) firstNonEmpty = level;
      level.healthyLoad = totalHosts === 0 ? 0 : Math.floor((100 * level.hosts.length) / totalHosts);
      level.degradedLoad = 0;
      remaining -= level.healthyLoad;
    }
    firstNonEmpty.healthyLoad += remaining;
  }

  // Effective locality weight = configured weight x min(1, overprovisioning x eligible share);
  // localities left with no weight get no requests. Null when none has weight.
  #localityChooser(level: PriorityLevel, availability: 'healthy' | 'degraded'): LocalityChooser | null {
    const weights: number[] = [];
    const sources: HostSource[] = [];
    for (const locality of level.localities) {
      const eligible = locality[availability];
      const share = eligible.hosts.length / locality.hosts.length;
      const weight = locality.weight * Math.min(1, (this.#overprovisioningFactor / 100) * share);
      if (weight > 0) {
        weights.push(weight);
        sources.push(eligible);
      }
    }
    return weights.length === 0 ? null : new LocalityChooser(weights, sources);
  }
}
