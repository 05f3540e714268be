// One runtime value, parsed once when its layer is loaded so a read per request is a Map lookup
// and a field read. As Envoy's runtime: every value keeps its string form; "true"/"false" are
// booleans, numbers are doubles (and integers when whole and not negative), and a
// {numerator, denominator} struct is a fractional percent.
import type { RuntimeValue } from '../config/model.ts';

export interface RuntimeEntry {
  readonly raw: string;
  readonly bool?: boolean;
  readonly double?: number;
  readonly uint?: number;
  readonly percent?: number; // a FractionalPercent, as 0-100
}

const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

export function parseEntry(value: RuntimeValue): RuntimeEntry {
  if (typeof value === 'boolean') return { raw: String(value), bool: value };
  if (typeof value === 'number') return numberEntry(String(value), value);
  if (typeof value === 'object') {
    const percent = Math.min(100, (value.numerator * 100) / DENOMINATORS[value.denominator]);
    return { raw: JSON.stringify(value), percent };
  }
  const lower = value.trim().toLowerCase();
  if (lower === 'true' || lower === 'false') return { raw: value, bool: lower === 'true' };
  const n = value.trim() === '' ? Number.NaN : Number(value);
  return Number.isFinite(n) ? numberEntry(value, n) : { raw: value };
}

function numberEntry(raw: string, n: number): RuntimeEntry {
  return n >= 0 && n <= Number.MAX_SAFE_INTEGER ? { raw, double: n, uint: Math.trunc(n) } : { raw, double: n };
}
