// Reduce the rounds of each cell to medians with min/max, and relate each row to the ceilings:
// the Node L4 pipe, nginx, and (for the fixed-rate scenario) the latency of going direct.
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
  /** The headline figure divided by nginx's / the L4 pipe's. */
  vsNginx?: number;
  vsL4Pipe?: number;
  upstreamShares?: number[];
}

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

function headlineOf(summary: CellSummary, scenario: Scenario): number | undefined {
  return summary[scenario.headline]?.median;
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
    upstreamShares: shares.length > 0 ? shares[0].map((_, i) => median(shares.map((s) => s[i]))) : undefined,
  };
}

export function summarize(cells: readonly Cell[], scenarios: readonly Scenario[]): CellSummary[] {
  const summaries = cells.map(summarizeCell);
  for (const scenario of scenarios) {
    const rows = summaries.filter((s) => s.scenario === scenario.name);
    const find = (target: string) => rows.find((s) => s.target === target);
    const nginx = find('nginx');
    const pipe = find('l4-pipe');
    const direct = find('direct');
    for (const row of rows) {
      const value = headlineOf(row, scenario);
      if (value === undefined) continue;
      const ratio = (reference: CellSummary | undefined) => {
        const base = reference && headlineOf(reference, scenario);
        return base ? value / base : undefined;
      };
      row.vsNginx = ratio(nginx);
      row.vsL4Pipe = ratio(pipe);
      if (scenario.http?.rate && row.latencyMs && direct?.latencyMs) {
        row.addedMs = { p50: row.latencyMs.p50 - direct.latencyMs.p50, p99: row.latencyMs.p99 - direct.latencyMs.p99 };
      }
    }
  }
  return summaries;
}
