// Bounded exponential back-off with full jitter (Envoy's JitteredExponentialBackOffStrategy):
// the n-th delay is uniform in [0, min(max, base * 2^n)). Reset after the stream did real work.
export interface BackoffOptions {
  baseMs?: number; // default 500
  maxMs?: number; // default 30 000
  random?: () => number; // [0, 1); injectable for tests
}

export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #ceiling: number;

  constructor(options: BackoffOptions = {}) {
    this.#baseMs = options.baseMs ?? 500;
    this.#maxMs = options.maxMs ?? 30_000;
    if (!(this.#baseMs > 0) || !(this.#maxMs >= this.#baseMs)) {
      throw new RangeError(`back-off needs 0 < base (${this.#baseMs} ms) <= max (${this.#maxMs} ms)`);
    }
    this.#random = options.random ?? Math.random;
    this.#ceiling = this.#baseMs;
  }

  // The delay before the next attempt, in ms.
  next(): number {
    const delay = Math.floor(this.#random() * this.#ceiling);
    this.#ceiling = Math.min(this.#maxMs, this.#ceiling * 2);
    return delay;
  }

  reset(): void {
    this.#ceiling = this.#baseMs;
  }
}
