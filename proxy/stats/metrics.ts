// Counters and gauges: a number and Envoy's "used" flag (set by any write, even inc(0), and read by
// the admin's ?usedonly). Callers resolve them once and keep the object, so the hot path is a
// field update.

// Neither knows its name: the store does (a mesh holds hundreds of thousands of them).
export class Counter {
  #value = 0;
  #used = false;

  inc(n = 1): void {
    this.#value += n;
    this.#used = true;
  }

  get value(): number {
    return this.#value;
  }

  get used(): boolean {
    return this.#used;
  }
}

/**
 * How the primary combines one gauge reported by several processes: 'accumulate' sums them (active
 * connections), 'never' keeps the largest (facts every worker repeats, like a cluster's host count).
 */
export type GaugeImportMode = 'accumulate' | 'never';

export class Gauge {
  readonly importMode: GaugeImportMode;
  #value = 0;
  #used = false;

  constructor(importMode: GaugeImportMode) {
    this.importMode = importMode;
  }

  set(value: number): void {
    this.#value = value;
    this.#used = true;
  }

  add(n: number): void {
    this.#value += n;
    this.#used = true;
  }

  sub(n: number): void {
    this.#value -= n;
    this.#used = true;
  }

  get value(): number {
    return this.#value;
  }

  get used(): boolean {
    return this.#used;
  }
}
