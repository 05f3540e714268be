// The stats of one process, by full Envoy name (`cluster.backend.upstream_rq_total`). Get-or-create
// is for set-up time: callers resolve their Counter/Gauge/Histogram objects once per snapshot and
// then only inc()/set()/record(). snapshot() turns the store into plain data for the primary.
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
  #observe: HistogramObserver | null = null;

  counter(name: string): Counter {
    let c = this.#counters.get(name);
    if (c === undefined) {
      c = new Counter(name);
      this.#counters.set(name, c);
    }
    return c;
  }

  /** The import mode is fixed by the first call for a name. */
  gauge(name: string, importMode: GaugeImportMode = 'accumulate'): Gauge {
    let g = this.#gauges.get(name);
    if (g === undefined) {
      g = new Gauge(name, importMode);
      this.#gauges.set(name, g);
    }
    return g;
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
    for (const [name, c] of this.#counters) {
      counters[name] = c.value;
      if (!c.used) unused.push(name);
    }
    for (const [name, g] of this.#gauges) {
      gauges[name] = g.value;
      if (!g.used) unused.push(name);
      if (g.importMode === 'never') neverImport.push(name);
    }
    for (const [name, h] of this.#histograms) histograms[name] = h.data();
    return { counters, gauges, histograms, unused, neverImport };
  }
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
