// What the layers say right now: one immutable map, replaced whole when a layer changes, so a
// request reads a consistent set. Readers take `runtime.snapshot` once per use and call a getter:
// a Map lookup, no allocation; an empty runtime returns the default at once.
import type { RuntimeEntry } from './entry.ts';

export class RuntimeSnapshot {
  readonly entries: ReadonlyMap<string, RuntimeEntry>;

  constructor(entries: ReadonlyMap<string, RuntimeEntry>) {
    this.entries = entries;
  }

  get(key: string): string | undefined {
    return this.entries.get(key)?.raw;
  }

  getBoolean(key: string, fallback: boolean): boolean {
    return this.entries.get(key)?.bool ?? fallback;
  }

  /** A whole, non-negative number (Envoy's getInteger), else the default. */
  getInteger(key: string, fallback: number): number {
    return this.entries.get(key)?.uint ?? fallback;
  }

  getDouble(key: string, fallback: number): number {
    return this.entries.get(key)?.double ?? fallback;
  }

  /**
   * A RuntimeFractionalPercent's share (0-100): a fractional percent value, or an integer taken as
   * the numerator over the default's denominator (as Envoy), else the default.
   */
  percent(key: string, fallbackPercent: number, denominator = 100): number {
    const entry = this.entries.get(key);
    if (entry === undefined) return fallbackPercent;
    if (entry.percent !== undefined) return entry.percent;
    if (entry.uint !== undefined) return Math.min(100, (entry.uint * 100) / denominator);
    return fallbackPercent;
  }
}

export const EMPTY_SNAPSHOT = new RuntimeSnapshot(new Map());
