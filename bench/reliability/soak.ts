// npm run soak [-- --minutes 30 | --seconds 20] [--rate 100] [--sample-s 10] [--churn-s 30] [--max-slope 20]
// Mixed traffic for a long time against `legate run --workers 2` on ADS (keep-alive and new
// connections, small and 1 MiB bodies both ways, retried 503s, websockets) with an xDS push every
// --churn-s seconds; RSS per process, each worker's V8 heap and event-loop delay sampled every
// --sample-s seconds; an SVG of them and a verdict on the memory slope after warm-up. Outputs in
// bench/results/ (soak-latest.svg, soak-latest.json); a summary on stdout. See README.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandLine } from '../command-line.ts';
import { processTree } from '../proc-stats.ts';
import { readAccessLog, type LoggedRequest } from './access-log.ts';
import { failedOutcome } from './chaos-report.ts';
import { churnShapes } from './config.ts';
import { Rig, serverMemory } from './rig.ts';
import { afterWarmup, leastSquares, percentile, slopeVerdict, totalRssMb, type MemorySample, type SlopeVerdict } from './soak-report.ts';
import { timeSeriesPlot } from './timeseries-svg.ts';
import { Traffic, type Outcome, type RequestKind } from './traffic.ts';

export interface SoakOptions {
  seconds: number;
  rate: number;
  sampleSeconds: number;
  churnSeconds: number;
  maxSlopeMbPerHour: number;
  log(line: string): void;
}

export interface SoakResult {
  seconds: number;
  sent: number;
  byKind: Record<string, Record<string, number>>;
  failed: number;
  failures: (Outcome & { logged?: LoggedRequest })[];
  pushes: number;
  pushErrors: string[];
  alive: boolean;
  workerRestarts: number;
  samples: MemorySample[];
  slope: SlopeVerdict;
  loopDelayP99Ms: { median: number; worst: number };
  svg: string;
}

/** Each keep-alive loop cycles through these; two loops in eight open a connection per request. */
const MIX: RequestKind[] = ['get', 'get', 'retry', 'get', 'get1m', 'get', 'post1m', 'get', 'get', 'ws'];
const MAX_KEPT_FAILURES = 200;

function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb === null ? 0 : Number(kb[1]) / 1024;
  } catch {
    return 0;
  }
}

async function sample(rig: Rig, startedAt: number, requests: number, failed: number): Promise<MemorySample> {
  const primary = rig.ads.child.pid!;
  const memory = await serverMemory(rig.ads);
  const workers = memory.workers.map((w) => ({
    pid: w.pid ?? 0,
    rssMb: rssMb(w.pid ?? 0),
    heapMb: (w.heap_used_bytes ?? 0) / 2 ** 20,
    heapTotalMb: (w.heap_total_bytes ?? 0) / 2 ** 20,
    externalMb: (w.external_bytes ?? 0) / 2 ** 20,
    loopP99Ms: w.event_loop_delay_p99_ms ?? 0,
    loopMaxMs: w.event_loop_delay_max_ms ?? 0,
  }));
  const known = new Set([primary, ...workers.map((w) => w.pid)]);
  const others = processTree([primary]).filter((pid) => !known.has(pid));
  return {
    minutes: (Date.now() - startedAt) / 60_000,
    primaryRssMb: rssMb(primary),
    workers,
    otherRssMb: others.reduce((sum, pid) => sum + rssMb(pid), 0),
    requests,
    failed,
  };
}

function plot(samples: MemorySample[], slope: SlopeVerdict, options: SoakOptions): string {
  const slots = Math.max(0, ...samples.map((s) => s.workers.length));
  const worker = (i: number, pick: (w: MemorySample['workers'][number]) => number): [number, number][] =>
    samples.filter((s) => s.workers[i]).map((s) => [s.minutes, pick(s.workers[i])]);
  const floorFit = leastSquares(slope.floorTotal);
  const fitStart = slope.floorTotal[0]?.[0] ?? 0;
  const fitEnd = slope.floorTotal.at(-1)?.[0] ?? 0;
  return timeSeriesPlot(`Legate soak: ${(options.seconds / 60).toFixed(0)} min, ~${options.rate} req/s mixed, xDS push every ${options.churnSeconds} s (--workers 2)`, [
    {
      title: `RSS: total floor slope after warm-up ${slope.floorTotalMbPerHour.toFixed(1)} MB/h (${slope.flat ? 'flat' : 'GROWING'}, threshold ${slope.thresholdMbPerHour} MB/h; through every sample ${slope.totalMbPerHour.toFixed(1)})`,
      yLabel: 'MB',
      series: [
        { label: 'total', points: samples.map((s) => [s.minutes, totalRssMb(s)]) },
        { label: 'total floor', points: slope.floorTotal },
        { label: 'floor trend', colorOf: 'total floor', dashed: true, points: [[fitStart, floorFit.intercept + floorFit.slope * fitStart], [fitEnd, floorFit.intercept + floorFit.slope * fitEnd]] },
        { label: 'primary', points: samples.map((s) => [s.minutes, s.primaryRssMb]) },
        ...Array.from({ length: slots }, (_, i) => ({ label: `worker ${i + 1}`, points: worker(i, (w) => w.rssMb) })),
        { label: 'spare', points: samples.map((s): [number, number] => [s.minutes, s.otherRssMb]) },
      ],
    },
    {
      title: 'V8 heap per worker: in use (solid) and committed (dashed)',
      yLabel: 'MB',
      series: Array.from({ length: slots }, (_, i) => [
        { label: `worker ${i + 1} in use`, colorOf: `worker ${i + 1}`, points: worker(i, (w) => w.heapMb) },
        { label: `worker ${i + 1} committed`, colorOf: `worker ${i + 1}`, dashed: true, points: worker(i, (w) => w.heapTotalMb) },
      ]).flat(),
    },
    {
      title: 'Event-loop delay p99 per worker (each sample interval)',
      yLabel: 'ms',
      series: Array.from({ length: slots }, (_, i) => ({ label: `worker ${i + 1}`, points: worker(i, (w) => w.loopP99Ms) })),
    },
  ]);
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const rig = await Rig.start({ hosts: 3, workers: 2, staticTarget: false });
  // Stopped in finally too: a sample or push that throws must not leave the load running.
  let traffic: Traffic | undefined;
  try {
    const byKind: SoakResult['byKind'] = {};
    const failures: Outcome[] = [];
    let sent = 0;
    let failed = 0;
    traffic = new Traffic({
      targets: [{ name: 'ads', port: rig.adsPort }],
      loopsPerTarget: 8,
      newConnectionLoops: 2,
      rate: options.rate,
      mix: MIX,
      onOutcome: (o) => {
        sent++;
        const counts = (byKind[o.kind] ??= {});
        const key = o.error === undefined ? String(o.status) : `error ${o.error}`;
        counts[key] = (counts[key] ?? 0) + 1;
        if (failedOutcome(o)) {
          failed++;
          if (failures.length < MAX_KEPT_FAILURES) failures.push(o);
        }
      },
    });
    // The first read starts the workers' event-loop monitors.
    await serverMemory(rig.ads);
    const startedAt = Date.now();
    const endAt = startedAt + options.seconds * 1000;
    const samples: MemorySample[] = [];
    const firstPids = (await serverMemory(rig.ads)).workers.map((w) => w.pid);
    traffic.start();
    samples.push(await sample(rig, startedAt, sent, failed));
    const base = rig.shape;
    const shapes = churnShapes(base, 10);
    let pushes = 0;
    const pushErrors: string[] = [];
    let nextSample = startedAt + options.sampleSeconds * 1000;
    let nextChurn = startedAt + options.churnSeconds * 1000;
    while (Date.now() < endAt) {
      const next = Math.min(nextSample, nextChurn, endAt);
      if (next > Date.now()) await sleep(next - Date.now());
      if (Date.now() >= nextChurn && Date.now() < endAt) {
        nextChurn += options.churnSeconds * 1000;
        const shape = { ...shapes[pushes % shapes.length], tag: `churn-${pushes + 1}` };
        pushes++;
        await rig.push(shape).catch((err: Error) => pushErrors.push(err.message));
      }
      if (Date.now() >= nextSample) {
        nextSample += options.sampleSeconds * 1000;
        const s = await sample(rig, startedAt, sent, failed);
        samples.push(s);
        options.log(
          `soak ${s.minutes.toFixed(1)} min: ${sent} requests, ${failed} failed; RSS total ${totalRssMb(s).toFixed(0)} MB ` +
            `(primary ${s.primaryRssMb.toFixed(0)}, workers ${s.workers.map((w) => w.rssMb.toFixed(0)).join(' + ')}, spare ${s.otherRssMb.toFixed(0)}); ` +
            `heap ${s.workers.map((w) => `${w.heapMb.toFixed(0)}/${w.heapTotalMb.toFixed(0)}`).join(' + ')} MB (in use/committed), external ${s.workers.map((w) => w.externalMb.toFixed(0)).join(' + ')} MB; loop p99 ${s.workers.map((w) => w.loopP99Ms.toFixed(1)).join(', ')} ms`,
        );
      }
    }
    await traffic.stop();
    const alive = rig.ads.child.exitCode === null;
    const lastPids = alive ? (await serverMemory(rig.ads)).workers.map((w) => w.pid) : [];
    const workerRestarts = firstPids.filter((pid) => !lastPids.includes(pid)).length;
    await sleep(300);
    const log = readAccessLog(rig.accessLogPath);
    const slope = slopeVerdict(samples, options.maxSlopeMbPerHour);
    const delays = afterWarmup(samples).flatMap((s) => s.workers.map((w) => w.loopP99Ms));
    return {
      seconds: options.seconds,
      sent,
      byKind,
      failed,
      failures: failures.map((f) => ({ ...f, ...(log.has(f.id) ? { logged: log.get(f.id) } : {}) })),
      pushes,
      pushErrors,
      alive,
      workerRestarts,
      samples,
      slope,
      loopDelayP99Ms: { median: percentile(delays, 50), worst: Math.max(0, ...delays) },
      svg: plot(samples, slope, options),
    };
  } finally {
    try {
      await traffic?.stop();
    } finally {
      await rig.close();
    }
  }
}

export function soakSummary(r: SoakResult): string {
  const first = r.samples[0];
  const last = r.samples.at(-1)!;
  const mb = (n: number) => `${n.toFixed(0)} MB`;
  const lines = [
    `soak: ${(r.seconds / 60).toFixed(1)} min, ${r.sent} requests, ${r.failed} failed, ${r.pushes} xDS pushes (${r.pushErrors.length} failed), ` +
      `Legate ${r.alive ? 'alive' : 'DEAD'}, ${r.workerRestarts} worker restarts`,
    `by kind: ${Object.entries(r.byKind).map(([kind, counts]) => `${kind} ${Object.entries(counts).map(([k, n]) => `${k}: ${n}`).join(' ')}`).join('; ')}`,
    `RSS start (traffic just started): total ${mb(totalRssMb(first))} = primary ${mb(first.primaryRssMb)} + workers ${first.workers.map((w) => mb(w.rssMb)).join(' + ')} + spare ${mb(first.otherRssMb)}`,
    `RSS at the end of warm-up (${afterWarmup(r.samples)[0].minutes.toFixed(1)} min): total ${mb(totalRssMb(afterWarmup(r.samples)[0]))}`,
    `RSS end: total ${mb(totalRssMb(last))} = primary ${mb(last.primaryRssMb)} + workers ${last.workers.map((w) => mb(w.rssMb)).join(' + ')} + spare ${mb(last.otherRssMb)}`,
    `RSS floor slope after warm-up (lowest sample of each process in each ${r.slope.floorWindowMinutes.toFixed(1)}-minute stretch of the last ${r.slope.samplesUsed} samples): ` +
      `total ${r.slope.floorTotalMbPerHour.toFixed(1)} MB/h (workers ${r.slope.floorWorkersMbPerHour.map((s) => s.toFixed(1)).join(', ')}) -> ` +
      `${r.slope.flat ? 'flat' : 'GROWING'} (threshold ${r.slope.thresholdMbPerHour} MB/h)`,
    `RSS least squares through every sample after warm-up (not judged: it follows the trims' sawtooth): total ${r.slope.totalMbPerHour.toFixed(1)} MB/h ` +
      `(primary ${r.slope.primaryMbPerHour.toFixed(1)}, workers ${r.slope.workersMbPerHour.map((s) => s.toFixed(1)).join(', ')})`,
    `V8 heap per worker, in use / committed: start ${first.workers.map((w) => `${mb(w.heapMb)} / ${mb(w.heapTotalMb)}`).join(', ')}, end ${last.workers.map((w) => `${mb(w.heapMb)} / ${mb(w.heapTotalMb)}`).join(', ')}, ` +
      `in-use slope ${r.slope.heapMbPerHour.map((s) => s.toFixed(1)).join(', ')} MB/h; outside the heap (Buffers): start ${first.workers.map((w) => mb(w.externalMb)).join(', ')}, end ${last.workers.map((w) => mb(w.externalMb)).join(', ')}`,
    `event-loop delay p99 per worker per ${r.samples.length > 1 ? 'sample interval' : 'run'} after warm-up: median ${r.loopDelayP99Ms.median.toFixed(1)} ms, worst ${r.loopDelayP99Ms.worst.toFixed(1)} ms`,
  ];
  for (const f of r.failures.slice(0, 10)) lines.push(`failure: ${JSON.stringify(f)}`);
  return lines.join('\n');
}

if (import.meta.main) {
  const cli = new CommandLine(
    'soak',
    [
      'usage: npm run soak -- [options]',
      '  --minutes N      run length (default 10), or --seconds N',
      '  --rate N         requests per second of the mixed load (default 100)',
      '  --sample-s N     seconds between memory samples (default 10)',
      '  --churn-s N      seconds between config pushes (default 30)',
      '  --max-slope N    RSS floor slope, MB/h, above which the verdict is growing (default 20)',
      '  --out DIR        where soak-latest.svg and .json go (default bench/results)',
    ].join('\n'),
  );
  const values = cli.parse({
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string', default: '100' },
    'sample-s': { type: 'string', default: '10' },
    'churn-s': { type: 'string', default: '30' },
    'max-slope': { type: 'string', default: '20' },
    out: { type: 'string', default: resolve(import.meta.dirname, '..', 'results') },
  });
  const seconds = values.seconds !== undefined ? cli.number('seconds', values.seconds, 1) : cli.number('minutes', values.minutes ?? '10', 0.1) * 60;
  const result = await runSoak({
    seconds,
    rate: cli.number('rate', values.rate, 1),
    sampleSeconds: cli.number('sample-s', values['sample-s'], 1),
    churnSeconds: cli.number('churn-s', values['churn-s'], 1),
    maxSlopeMbPerHour: cli.number('max-slope', values['max-slope']),
    log: (line) => console.error(line),
  });
  mkdirSync(values.out, { recursive: true });
  const svgFile = join(values.out, 'soak-latest.svg');
  writeFileSync(svgFile, result.svg);
  const { svg: _svg, ...data } = result;
  writeFileSync(join(values.out, 'soak-latest.json'), JSON.stringify({ date: new Date().toISOString(), options: values, ...data }, null, 2));
  console.log(soakSummary(result));
  console.log(`wrote ${svgFile} and soak-latest.json`);
  process.exit(result.failed === 0 && result.alive && result.pushErrors.length === 0 ? 0 : 1);
}
