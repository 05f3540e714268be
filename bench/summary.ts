// Reduce the rounds of each cell to medians with min/max, and relate each row to its peers: the
// Node L4 pipe, nginx and the naive Node proxy (the ratio of the headline figures within each
// round, then the median of those ratios, so that a round run while the machine was busier
// compares like with like), and for the fixed-rate scenario the latency of going direct.
import type { LatencyMs } from './loadgen.ts';
import type { Scenario } from './scenarios.ts';
import type { Cell, CellStatus, Measurement } from './session.ts';

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface CellSummary {
  scenario: string;
  target: string;
  status: CellStatus;
  reason?: string;
  rounds: number;
  rps?: Spread;
  mibps?: Spread;
  /** Median of each percentile over the rounds. */
  latencyMs?: LatencyMs;
  cpuPer1k?: Spread;
  rssMiB?: Spread;
  /** Errors summed over the rounds. */
  errors: number;
  /** Fixed-rate scenarios: median latency minus that of going direct. */
  addedMs?: { p50: number; p99: number };
  /** Per reference target: the median over rounds of this row's headline figure over theirs in the same round. */
  ratios: Partial<Record<RatioReference, Spread>>;
  upstreamShares?: number[];
}

/** The targets every row is compared with, in the order of the report's columns. */
export const RATIO_REFERENCES = ['l4-pipe', 'nginx', 'naive-node'] as const;
export type RatioReference = (typeof RATIO_REFERENCES)[number];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function spread(measurements: Measurement[], pick: (m: Measurement) => number | undefined): Spread | undefined {
  const values = measurements.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (values.length === 0) return undefined;
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

function latencyMedians(measurements: Measurement[]): LatencyMs | undefined {
  const withLatency = measurements.filter((m) => m.latencyMs);
  if (withLatency.length === 0) return undefined;
  const of = (key: keyof LatencyMs) => median(withLatency.map((m) => (m.latencyMs as LatencyMs)[key]));
  return { p50: of('p50'), p90: of('p90'), p99: of('p99'), p999: of('p999'), max: of('max'), mean: of('mean') };
}

/** A measurement's headline figure: req/s, MiB/s or CPU s per 1,000 requests. */
export function headlineValue(m: Measurement, scenario: Scenario): number | undefined {
  const value = scenario.headline === 'rps' ? (m.requests > 0 ? m.rps : undefined) : m[scenario.headline];
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** The row's headline over the reference's, round by round (rounds both measured). */
export function roundRatios(row: Cell, reference: Cell, scenario: Scenario): number[] {
  const ratios: number[] = [];
  for (const m of row.measurements) {
    const value = headlineValue(m, scenario);
    const peer = reference.measurements.find((r) => r.round === m.round);
    const base = peer && headlineValue(peer, scenario);
    if (value !== undefined && base) ratios.push(value / base);
  }
  return ratios;
}

function spreadOf(values: number[]): Spread | undefined {
  return values.length === 0 ? undefined : { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

function summarizeCell(cell: Cell): CellSummary {
  const ms = cell.measurements;
  const shares = ms.filter((m) => m.upstreamShares).map((m) => m.upstreamShares as number[]);
  return {
    scenario: cell.scenario,
    target: cell.target,
    status: cell.status,
    reason: cell.reason,
    rounds: ms.length,
    rps: spread(ms, (m) => (m.requests > 0 ? m.rps : undefined)),
    mibps: spread(ms, (m) => m.mibps),
    latencyMs: latencyMedians(ms),
    cpuPer1k: spread(ms, (m) => m.cpuPer1k),
    rssMiB: spread(ms, (m) => (m.rssBytes === undefined ? undefined : m.rssBytes / 2 ** 20)),
    errors: ms.reduce((sum, m) => sum + m.errors, 0),
    ratios: {},
    upstreamShares: shares.length > 0 ? shares[0].map((_, i) => median(shares.map((s) => s[i]))) : undefined,
  };
}

export function summarize(cells: readonly Cell[], scenarios: readonly Scenario[]): CellSummary[] {
  const summaries = cells.map(summarizeCell);
  for (const scenario of scenarios) {
    const rows = summaries.filter((s) => s.scenario === scenario.name);
    const cellOf = (target: string) => cells.find((c) => c.scenario === scenario.name && c.target === target);
    const direct = rows.find((s) => s.target === 'direct');
    for (const row of rows) {
      const cell = cellOf(row.target) as Cell;
      for (const reference of RATIO_REFERENCES) {
        const peer = cellOf(reference);
        const ratios = peer ? spreadOf(roundRatios(cell, peer, scenario)) : undefined;
        if (ratios) row.ratios[reference] = ratios;
      }
      if (scenario.http?.rate && row.latencyMs && direct?.latencyMs) {
        row.addedMs = { p50: row.latencyMs.p50 - direct.latencyMs.p50, p99: row.latencyMs.p99 - direct.latencyMs.p99 };
      }
    }
  }
  return summaries;
}
