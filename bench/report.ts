// The run's outputs: a Markdown table (per scenario and target: req/s, the proxy's CPU seconds per
// 1,000 requests, p99, and the row's ratios to the Node L4 pipe, nginx and the naive Node proxy),
// the JSON with every raw figure, and an SVG latency plot per scenario.
import fs from 'node:fs';
import path from 'node:path';
import type { MachineInfo } from './machine.ts';
import { meshTable, type MeshOptions, type MeshRow } from './mesh.ts';
import type { Scenario } from './scenarios.ts';
import type { Cell } from './session.ts';
import { RATIO_REFERENCES, type CellSummary, type RatioReference, type Spread } from './summary.ts';
import { PALETTE, PERCENTILE_LABELS, latencyPlot } from './svg.ts';

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  command: string;
  options: { durationSeconds: number; warmupSeconds: number; connections: number; rounds: number; loadGenerator: string };
  /** What generated the load, for the header. */
  loadGenerator: string;
  pinning: string;
  machine: MachineInfo;
  scenarios: Scenario[];
  targets: { name: string; description: string }[];
  /** Every measurement of every round. */
  cells: Cell[];
  summary: CellSummary[];
  /** The mesh-scale section (bench/mesh.ts), when the run had one. */
  mesh?: { options: MeshOptions; rows: MeshRow[] };
}

const RATIO_HEADINGS: Record<RatioReference, string> = {
  'l4-pipe': 'vs L4 pipe',
  nginx: 'vs nginx',
  'naive-node': 'vs naive-node',
};

const COLUMNS = [
  'scenario',
  'target',
  'req/s',
  'CPU s/1k req',
  'p99 ms',
  ...RATIO_REFERENCES.map((reference) => RATIO_HEADINGS[reference]),
  'MiB/s',
  'p50 ms',
  'p90 ms',
  'p99.9 ms',
  'max ms',
  '+p50 ms',
  '+p99 ms',
  'RSS MiB',
  'errors',
];

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ms(value: number | undefined): string {
  if (value === undefined) return '–';
  return fixed(value, Math.abs(value) < 10 ? 2 : Math.abs(value) < 100 ? 1 : 0);
}

function withSpread(value: Spread | undefined, digits: number, showSpread: boolean): string {
  if (!value) return '–';
  const median = fixed(value.median, digits);
  return showSpread ? `${median} (${fixed(value.min, digits)}–${fixed(value.max, digits)})` : median;
}

function ratio(value: Spread | undefined): string {
  return value === undefined ? '–' : `${value.median.toFixed(2)}×`;
}

/** A reason short enough for a table cell; the JSON keeps the whole of it. */
function brief(reason: string): string {
  const flat = reason.replace(/\s+/g, ' ').replace(/\|/g, '/').trim();
  return flat.length > 100 ? `${flat.slice(0, 99)}…` : flat;
}

function row(summary: CellSummary, scenario: Scenario, rounds: number): string[] {
  const multiRound = rounds > 1;
  if (summary.status !== 'ok') {
    const why = `${summary.status}${summary.reason ? `: ${brief(summary.reason)}` : ''}`;
    return [scenario.name, summary.target, why, ...COLUMNS.slice(3).map(() => '–')];
  }
  const spreadOn = (headline: Scenario['headline']) => multiRound && scenario.headline === headline;
  const latency = summary.latencyMs;
  return [
    scenario.name,
    summary.rounds < rounds ? `${summary.target} (${summary.rounds}/${rounds} rounds)` : summary.target,
    withSpread(summary.rps, 0, spreadOn('rps')),
    withSpread(summary.cpuPer1k, 3, spreadOn('cpuPer1k')),
    ms(latency?.p99),
    ...RATIO_REFERENCES.map((reference) => ratio(summary.ratios[reference])),
    withSpread(summary.mibps, summary.mibps && summary.mibps.median >= 100 ? 0 : 1, spreadOn('mibps')),
    ms(latency?.p50),
    ms(latency?.p90),
    ms(latency?.p999),
    ms(latency?.max),
    ms(summary.addedMs?.p50),
    ms(summary.addedMs?.p99),
    withSpread(summary.rssMiB, 0, false),
    String(summary.errors),
  ];
}

function table(report: BenchReport): string {
  const lines = [`| ${COLUMNS.join(' | ')} |`, `|${COLUMNS.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const scenario of report.scenarios) {
    for (const target of report.targets) {
      const summary = report.summary.find((s) => s.scenario === scenario.name && s.target === target.name);
      if (summary) lines.push(`| ${row(summary, scenario, report.options.rounds).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

function machineLine(machine: MachineInfo): string {
  const peers = [machine.nginx, machine.haproxy].filter(Boolean).join(', ');
  return (
    `${machine.cpuModel}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}` +
    `${peers ? `, ${peers}` : ''}; load average ${machine.loadAverage} at the start`
  );
}

/** Rounds that failed in a row that has figures from other rounds (a row with none says why itself). */
function failedRounds(report: BenchReport): string[] {
  const lines = report.cells
    .filter((cell) => cell.status === 'ok' && cell.failures.length > 0)
    .flatMap((cell) => cell.failures.map((failure) => `- ${cell.scenario} ${cell.target}, ${brief(failure)}`));
  return lines.length > 0 ? ['Rounds left out of the figures above (the row says how many rounds it has):', ...lines, ''] : [];
}

/** The results as Markdown, without a top-level heading (it goes into README.md too). */
export function renderMarkdown(report: BenchReport): string {
  const { options } = report;
  const plotted = report.scenarios.filter((s) => report.summary.some((c) => c.scenario === s.name && c.latencyMs));
  const split = report.summary.filter((s) => s.upstreamShares && s.status === 'ok');
  const lines = [
    `Run ${report.startedAt}: ${options.rounds} round(s), ${options.durationSeconds} s measured per target after ${options.warmupSeconds} s warm-up, ${options.connections} connections unless the scenario fixes them.`,
    '',
    `- Machine: ${machineLine(report.machine)}`,
    `- Load generator: ${report.loadGenerator}`,
    `- Pinning: ${report.pinning}`,
    `- Reproduce: \`${report.command}\``,
    '',
    table(report),
    '',
    ...failedRounds(report),
    'Figures are medians over the rounds; the headline figure of each scenario shows (min–max) when there is more than one round.',
    'req/s counts 2xx responses only (with wrk: responses below 400, all the upstream sends are 200 and 503); errors counts the other',
    'responses plus connection errors and timeouts, summed over the rounds.',
    'CPU s/1k req is the CPU time (user + system) of the proxy\'s processes, workers included, read from /proc at the two ends of the',
    'measured window, per 1,000 successful requests; – where there is no proxy process (direct) or no requests (tcp). RSS likewise.',
    '"vs L4 pipe", "vs nginx" and "vs naive-node" divide the row\'s headline figure by theirs in the same round, then take the median',
    'over the rounds: req/s (higher is better), MiB/s for download1m and tcp, and CPU s per 1,000 requests for rate1k (lower is better).',
    '+p50/+p99 is the latency added over going direct, at the fixed rate.',
    '',
    'Scenarios:',
    ...report.scenarios.map((s) => `- ${s.name}: ${s.title}`),
    '',
    'Targets:',
    ...report.targets.map((t) => `- ${t.name}: ${t.description}`),
  ];
  if (split.length > 0) {
    lines.push('', 'Weighted split, share of requests per upstream (configured 50/30/20):');
    for (const s of split) lines.push(`- ${s.target}: ${(s.upstreamShares ?? []).map((v) => (v * 100).toFixed(1)).join(' / ')}`);
  }
  if (report.mesh) {
    const { options: mesh, rows } = report.mesh;
    lines.push('', `Mesh scale: an istiod-shaped config of N services over ADS (${mesh.apiType === 'GRPC' ? 'state of the world' : 'delta'}) to \`legate run --workers ${mesh.workers}\`, ${mesh.changes} one-resource changes per size (bench/mesh.ts; \`npm run bench:mesh\` runs it alone):`, '', meshTable(rows, mesh));
  }
  if (plotted.length > 0) {
    lines.push('', `Latency plots: ${plotted.map((s) => `results/latency-${s.name}.svg`).join(', ')} (not committed; rerun to get them).`);
  }
  return lines.join('\n') + '\n';
}

function writePlots(report: BenchReport, outDir: string): void {
  for (const scenario of report.scenarios) {
    const series = report.targets.flatMap((target, index) => {
      const latency = report.summary.find((s) => s.scenario === scenario.name && s.target === target.name)?.latencyMs;
      if (!latency) return [];
      const values = [latency.p50, latency.p90, latency.p99, latency.p999, latency.max];
      return [{ label: target.name, color: PALETTE[index % PALETTE.length], values }];
    });
    if (series.length === 0) continue;
    const title = `${scenario.name}: ${scenario.title} — latency ${PERCENTILE_LABELS.join(', ')}`;
    fs.writeFileSync(path.join(outDir, `latency-${scenario.name}.svg`), latencyPlot(title, series));
  }
}

const README_START = '<!-- bench:latest:start -->';
const README_END = '<!-- bench:latest:end -->';

/** Write latest.md, latest.json, the plots, and the JSON copy if asked for. */
export function writeResults(report: BenchReport, outDir: string, jsonFile: string | undefined): string {
  fs.mkdirSync(outDir, { recursive: true });
  const markdown = renderMarkdown(report);
  fs.writeFileSync(path.join(outDir, 'latest.md'), `# Legate bench: latest results\n\n${markdown}`);
  const json = JSON.stringify(report, null, 2) + '\n';
  fs.writeFileSync(path.join(outDir, 'latest.json'), json);
  if (jsonFile) fs.writeFileSync(jsonFile, json);
  writePlots(report, outDir);
  return markdown;
}

/** Replace the latest-results section of bench/README.md. */
export function updateReadme(readmeFile: string, markdown: string): void {
  const readme = fs.readFileSync(readmeFile, 'utf8');
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`${readmeFile}: markers ${README_START} / ${README_END} not found`);
  fs.writeFileSync(readmeFile, `${readme.slice(0, start + README_START.length)}\n${markdown}${readme.slice(end)}`);
}
