// The stats of one process, by full Envoy name (`cluster.backend.upstream_rq_total`). Get-or-create
// is for set-up time: callers resolve their Counter/Gauge/Histogram objects once per snapshot and
// then only inc()/set()/record(). snapshot() turns the store into plain data for the primary.
// A family of stats made together under one prefix (a cluster's ~60) is a group: its full names
// are built only when the store is read, so each stat costs its object and nothing more (a mesh
// has 5,000 clusters; a name string and a map entry each were ~70 B of ~120 B per stat).
import { Counter, Gauge, type GaugeImportMode } from './metrics.ts';
import { Histogram, type HistogramData, type HistogramUnit } from './histogram.ts';

/**
 * One process's stats as plain, structured-clone safe data (workers send it over IPC). Values are
 * cumulative since the process started, so a lost or repeated message does no harm.
 */
export interface StatsSnapshot {
  counters: Record<string, number>;
  gauges: Record<string, number>;
  /** Bucket counts and sums; null for a histogram with nothing recorded. */
  histograms: Record<string, HistogramData | null>;
  /** Counters and gauges never written (Envoy's ?usedonly hides them). */
  unused: string[];
  /** Gauges in 'never' import mode: merged by maximum, not summed. */
  neverImport: string[];
}

export type HistogramObserver = (histogram: Histogram) => ((histogram: Histogram, value: number) => void) | null;

export class Store {
  readonly #counters = new Map<string, Counter>();
  readonly #gauges = new Map<string, Gauge>();
  readonly #histograms = new Map<string, Histogram>();
  readonly #counterGroups = new Map<string, Group<Counter>[]>();
  readonly #gaugeGroups = new Map<string, Group<Gauge>[]>();
  #observe: HistogramObserver | null = null;

  counter(name: string): Counter {
    let c = this.#counters.get(name) ?? memberOf(this.#counterGroups, name);
    if (c === undefined) {
      c = new Counter();
      this.#counters.set(name, c);
    }
    return c;
  }

  /** The import mode is fixed by the first call for a name. */
  gauge(name: string, importMode: GaugeImportMode = 'accumulate'): Gauge {
    let g = this.#gauges.get(name) ?? memberOf(this.#gaugeGroups, name);
    if (g === undefined) {
      g = new Gauge(importMode);
      this.#gauges.set(name, g);
    }
    return g;
  }

  /** The counters `prefix + name` for each of `names` (a constant list), as counter() would give them. */
  counters(prefix: string, names: readonly string[]): readonly Counter[] {
    return group(this.#counterGroups, this.#counters, prefix, names, () => new Counter());
  }

  /** The gauges `prefix + name` for each of `names` (a constant list), as gauge() would give them. */
  gauges(prefix: string, names: readonly string[], importMode: GaugeImportMode = 'accumulate'): readonly Gauge[] {
    return group(this.#gaugeGroups, this.#gauges, prefix, names, () => new Gauge(importMode));
  }

  /** The unit is fixed by the first call for a name. */
  histogram(name: string, unit: HistogramUnit = 'unspecified'): Histogram {
    let h = this.#histograms.get(name);
    if (h === undefined) {
      h = new Histogram(name, unit);
      if (this.#observe !== null) h.onRecord = this.#observe(h);
      this.#histograms.set(name, h);
    }
    return h;
  }

  /**
   * Hands every histogram, now and later, to `observe`, which says what takes its values as they are
   * recorded (a stats sink's timers), or null for none. Decided once per histogram.
   */
  observeHistograms(observe: HistogramObserver): void {
    this.#observe = observe;
    for (const h of this.#histograms.values()) h.onRecord = observe(h);
  }

  /** A view that prefixes names: scope('cluster.foo').counter('upstream_rq_total'). */
  scope(prefix: string): Scope {
    return new Scope(this, prefix);
  }

  snapshot(): StatsSnapshot {
    const counters: Record<string, number> = Object.create(null);
    const gauges: Record<string, number> = Object.create(null);
    const histograms: Record<string, HistogramData | null> = Object.create(null);
    const unused: string[] = [];
    const neverImport: string[] = [];
    const counter = (name: string, c: Counter) => {
      counters[name] = c.value;
      if (!c.used) unused.push(name);
    };
    const gauge = (name: string, g: Gauge) => {
      gauges[name] = g.value;
      if (!g.used) unused.push(name);
      if (g.importMode === 'never') neverImport.push(name);
    };
    for (const [name, c] of this.#counters) counter(name, c);
    for (const [prefix, groups] of this.#counterGroups) for (const g of groups) g.forEach(prefix, counter);
    for (const [name, g] of this.#gauges) gauge(name, g);
    for (const [prefix, groups] of this.#gaugeGroups) for (const g of groups) g.forEach(prefix, gauge);
    for (const [name, h] of this.#histograms) histograms[name] = h.data();
    return { counters, gauges, histograms, unused, neverImport };
  }
}

/** Stats under one prefix, one for each of a constant list of names. */
class Group<T> {
  readonly names: readonly string[];
  readonly stats: readonly T[];

  constructor(names: readonly string[], stats: readonly T[]) {
    this.names = names;
    this.stats = stats;
  }

  forEach(prefix: string, each: (name: string, stat: T) => void): void {
    for (let i = 0; i < this.names.length; i++) each(prefix + this.names[i], this.stats[i]);
  }
}

// Where each name of a group's list is in it, computed once per list.
const slots = new WeakMap<readonly string[], Map<string, number>>();

function slotsOf(names: readonly string[]): Map<string, number> {
  let index = slots.get(names);
  if (index === undefined) {
    index = new Map(names.map((name, i) => [name, i]));
    slots.set(names, index);
  }
  return index;
}

// The grouped stat with this full name: the group's prefix ends at one of the name's dots.
function memberOf<T>(groups: ReadonlyMap<string, Group<T>[]>, name: string): T | undefined {
  if (groups.size === 0) return undefined;
  for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
    for (const g of groups.get(name.slice(0, dot + 1)) ?? []) {
      const slot = slotsOf(g.names).get(name.slice(dot + 1));
      if (slot !== undefined) return g.stats[slot];
    }
  }
  return undefined;
}

// A group is made once per prefix and list (lists under one prefix name different stats); a stat
// of it already made by name moves into it.
function group<T>(groups: Map<string, Group<T>[]>, single: Map<string, T>, prefix: string, names: readonly string[], make: () => T): readonly T[] {
  const atPrefix = groups.get(prefix);
  const existing = atPrefix?.find((g) => g.names === names);
  if (existing !== undefined) return existing.stats;
  const stats = names.map((name) => {
    const stat = single.get(prefix + name);
    if (stat === undefined) return make();
    single.delete(prefix + name);
    return stat;
  });
  const made = new Group(names, stats);
  // A literal of one: an array grown by push() reserves room for 17 (thousands of prefixes).
  if (atPrefix === undefined) groups.set(prefix, [made]);
  else atPrefix.push(made);
  return stats;
}

export class Scope {
  readonly store: Store;
  /** Always '' or ends with '.'. */
  readonly prefix: string;

  constructor(store: Store, prefix: string) {
    this.store = store;
    this.prefix = prefix === '' || prefix.endsWith('.') ? prefix : prefix + '.';
  }

  counter(name: string): Counter {
    return this.store.counter(this.prefix + name);
  }

  gauge(name: string, importMode?: GaugeImportMode): Gauge {
    return this.store.gauge(this.prefix + name, importMode);
  }

  histogram(name: string, unit?: HistogramUnit): Histogram {
    return this.store.histogram(this.prefix + name, unit);
  }

  scope(prefix: string): Scope {
    return new Scope(this.store, this.prefix + prefix);
  }
}
