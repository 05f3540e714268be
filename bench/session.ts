// One bench run: start the upstream once, then in every round run every scenario against every
// target, interleaved (the target order rotates per round so no target always goes first), each
// measurement with a freshly started proxy, the same warm-up, load generator and pinning.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Child, startNodeProgram } from './child.ts';
import { h2loadBinary, type GeneratorUsed, type LoadGeneratorName } from './generator.ts';
import type { LoadConfig, LoadResult, LatencyMs } from './loadgen.ts';
import type { Pinning } from './pinning.ts';
import { cpuPer1k } from './proc-stats.ts';
import type { Scenario } from './scenarios.ts';
import type { Target, Upstream } from './targets/types.ts';
import type { UpstreamReady } from './upstream.ts';
import { makeBenchCertificate, opensslUnavailable } from './tls-cert.ts';

export interface SessionOptions {
  scenarios: readonly Scenario[];
  targets: readonly Target[];
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  loadGenerator: LoadGeneratorName;
  pinning: Pinning;
  log(line: string): void;
}

/** One target x scenario x round. */
export interface Measurement {
  round: number;
  /** What generated the load: wrk, autocannon, or Node sockets (tcp). */
  generator: GeneratorUsed;
  seconds: number;
  /** Responses of any status. */
  requests: number;
  /** Successful responses: 2xx (below 400 with wrk, which tells no finer; see wrk.ts). */
  ok: number;
  /** Successful responses per second. */
  rps: number;
  bytes: number;
  mibps: number;
  statusCounts: Record<string, number>;
  /** Non-2xx responses plus connection errors and timeouts. */
  errors: number;
  latencyMs?: LatencyMs;
  latencyHistogram?: string;
  /** The proxy's process tree, utime+stime from /proc over the measured window. */
  cpuSeconds?: number;
  /** cpuSeconds per 1,000 successful responses. */
  cpuPer1k?: number;
  rssBytes?: number;
  peakRssBytes?: number;
  processes?: number;
  /** Weighted split: share of requests each upstream received. */
  upstreamShares?: number[];
}

export type CellStatus = 'ok' | 'n/a' | 'skipped' | 'failed';

export interface Cell {
  scenario: string;
  target: string;
  status: CellStatus;
  reason?: string;
  measurements: Measurement[];
  failures: string[];
}

const LOADGEN = path.join(import.meta.dirname, 'loadgen.ts');
const UPSTREAM = path.join(import.meta.dirname, 'upstream.ts');
const MiB = 1024 * 1024;

export function toMeasurement(round: number, result: LoadResult, isTcp: boolean): Measurement {
  const ok = result.ok;
  const proc = result.proc;
  return {
    round,
    generator: result.generator,
    seconds: result.seconds,
    requests: result.requests,
    ok,
    rps: ok / result.seconds,
    bytes: result.bytes,
    mibps: result.bytes / MiB / result.seconds,
    statusCounts: result.statusCounts,
    errors: result.requests - ok + result.errors,
    latencyMs: result.latencyMs,
    latencyHistogram: result.latencyHistogram,
    ...(proc
      ? {
          cpuSeconds: proc.cpuSeconds,
          cpuPer1k: isTcp ? undefined : cpuPer1k(proc.cpuSeconds, ok),
          rssBytes: proc.rssBytes,
          peakRssBytes: proc.peakRssBytes,
          processes: proc.processes,
        }
      : {}),
  };
}

async function upstreamCounts(upstream: Child): Promise<number[]> {
  upstream.send({ type: 'counts' });
  return (await upstream.message<{ type: 'counts'; counts: number[] }>('counts', 5000)).counts;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

export async function runSession(options: SessionOptions): Promise<Cell[]> {
  const { pinning, log } = options;
  const cells = new Map<string, Cell>();
  const noOpenssl = options.scenarios.some((scenario) => scenario.tls) ? opensslUnavailable() : undefined;
  const noH2load = options.scenarios.some((scenario) => scenario.http2) && !h2loadBinary() ? 'h2load not installed (apt-get install nghttp2-client)' : undefined;
  const key = (scenario: Scenario, target: Target) => `${scenario.name}\0${target.name}`;
  for (const target of options.targets) {
    const unavailable = target.unavailable();
    if (unavailable) log(`skipping ${target.name}: ${unavailable}`);
    for (const scenario of options.scenarios) {
      const notApplicable = unavailable ? undefined : (target.notApplicable(scenario) ?? (scenario.tls ? noOpenssl : undefined) ?? (scenario.http2 ? noH2load : undefined));
      cells.set(key(scenario, target), {
        scenario: scenario.name,
        target: target.name,
        status: unavailable ? 'skipped' : notApplicable ? 'n/a' : 'failed',
        reason: unavailable ?? notApplicable,
        measurements: [],
        failures: [],
      });
    }
  }

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-bench-'));
  const removeWorkDir = () => fs.rmSync(workDir, { recursive: true, force: true });
  process.on('exit', removeWorkDir); // also on Ctrl-C, which skips the finally below
  let upstreamChild: Child | undefined;
  try {
    // One certificate per run, shared by every TLS target (peers/values.ts names its files).
    if (options.scenarios.some((scenario) => scenario.tls) && !noOpenssl) makeBenchCertificate(workDir);
    const started = await startNodeProgram<UpstreamReady>('upstream', UPSTREAM, { httpListeners: 3 }, pinning.upstream);
    upstreamChild = started.child;
    const upstream: Upstream = { http: started.ready.http, tcp: started.ready.tcp };
    for (let round = 1; round <= options.rounds; round++) {
      for (const scenario of options.scenarios) {
        for (const target of rotate(options.targets, round - 1)) {
          const cell = cells.get(key(scenario, target)) as Cell;
          if (cell.status === 'n/a' || cell.status === 'skipped') continue;
          const label = `[round ${round}/${options.rounds}] ${scenario.name} ${target.name}`;
          try {
            const measurement = await measure(round, scenario, target, upstream, upstreamChild, workDir, options);
            cell.measurements.push(measurement);
            cell.status = 'ok';
            const figure =
              scenario.headline === 'mibps' ? `${measurement.mibps.toFixed(0)} MiB/s` : `${measurement.rps.toFixed(0)} req/s`;
            const cpu = measurement.cpuPer1k === undefined ? '' : `, CPU ${measurement.cpuPer1k.toFixed(3)} s/1k req`;
            log(
              `${label}: ${figure}, p99 ${measurement.latencyMs?.p99.toFixed(2) ?? '-'} ms${cpu}, errors ${measurement.errors} (${measurement.generator})`,
            );
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            cell.failures.push(`round ${round}: ${message}`);
            log(`${label}: FAILED ${message}`);
          }
        }
      }
    }
  } finally {
    await upstreamChild?.stop();
    removeWorkDir();
    process.off('exit', removeWorkDir);
  }
  for (const cell of cells.values()) {
    if (cell.status === 'failed') cell.reason = cell.failures[0] ?? 'not measured';
  }
  return [...cells.values()];
}

async function measure(
  round: number,
  scenario: Scenario,
  target: Target,
  upstream: Upstream,
  upstreamChild: Child,
  workDir: string,
  options: SessionOptions,
): Promise<Measurement> {
  const running = await target.start(upstream, scenario, { cpus: options.pinning.proxy, workDir });
  try {
    await upstreamCounts(upstreamChild); // zero the per-listener counters
    const config: LoadConfig = {
      url: running.url,
      scenario: scenario.name,
      generator: options.loadGenerator,
      connections: scenario.connections ?? options.connections,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      watchPids: running.pids,
    };
    const loadgen = new Child('loadgen', process.execPath, [LOADGEN, JSON.stringify(config)], {
      ipc: true,
      cpus: options.pinning.load,
    });
    let result: LoadResult;
    try {
      result = await loadgen.message<LoadResult>('result', (options.warmupSeconds + options.durationSeconds + 30) * 1000);
    } finally {
      await loadgen.stop();
    }
    const measurement = toMeasurement(round, result, scenario.protocol === 'tcp');
    // Requests still in flight when the window closes count neither as responses nor as errors
    // (the generators' timeout is 10 s): a proxy that accepts and never answers would otherwise
    // pass for a round with no errors.
    if (scenario.protocol === 'http' && measurement.requests === 0 && measurement.errors === 0) {
      throw new Error('no response in the measured window: connections were accepted but nothing was answered');
    }
    if (scenario.route === 'split') {
      const counts = await upstreamCounts(upstreamChild);
      const total = counts.reduce((a, b) => a + b, 0);
      measurement.upstreamShares = counts.map((count) => (total ? count / total : 0));
    }
    return measurement;
  } finally {
    await running.stop();
  }
}
