// Where the fixed-window counters live. A key names one descriptor's window
// (domain_key_value_..._windowstart), so a counter is never reset: it expires after its window
// and the next window counts under a new key.

export interface CounterStore {
  /** For log lines: the Redis URL, or 'memory'. */
  readonly name: string;
  /**
   * Adds `hits` to each key's counter (a new counter expires after its ttl) and gives the new
   * values, in order. Synchronous in memory; one round trip to Redis.
   */
  increment(keys: readonly string[], hits: number, ttlSeconds: readonly number[]): number[] | Promise<number[]>;
  close(): Promise<void>;
}

// Without redis_url: counters in this process only (each worker and each Legate counts alone).
export class MemoryCounterStore implements CounterStore {
  readonly name = 'memory';
  private readonly counters = new Map<string, { value: number; expiresAtMs: number }>();
  private nextSweepMs = 0;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  increment(keys: readonly string[], hits: number, ttlSeconds: readonly number[]): number[] {
    const now = this.now();
    if (now >= this.nextSweepMs) this.sweep(now);
    const values: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      let counter = this.counters.get(keys[i]);
      if (counter === undefined || counter.expiresAtMs <= now) {
        counter = { value: 0, expiresAtMs: now + ttlSeconds[i] * 1000 };
        this.counters.set(keys[i], counter);
      }
      counter.value += hits;
      values.push(counter.value);
    }
    return values;
  }

  async close(): Promise<void> {
    this.counters.clear();
  }

  // Past windows' keys are never read again; drop them once a second.
  private sweep(now: number): void {
    for (const [key, counter] of this.counters) if (counter.expiresAtMs <= now) this.counters.delete(key);
    this.nextSweepMs = now + 1000;
  }
}
