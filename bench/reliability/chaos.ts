// npm run chaos [-- --seconds 60 --rate 300 --loops 8 --out bench/results]
// Steady GET traffic against two `legate run --workers 2` (one on ADS, one on a static bootstrap)
// while faults come one after another on a schedule; then a table of what every request got,
// attributed to the fault active at the time, and a verdict. Exit code 1 when the target is missed.
// See README.md in this folder.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandLine } from '../command-line.ts';
import { readAccessLog } from './access-log.ts';
import { formatChaosTable, judge, type FaultWindow } from './chaos-report.ts';
import { FAULTS, type Fault } from './faults.ts';
import { Rig } from './rig.ts';
import { Traffic, type Outcome } from './traffic.ts';

export interface ChaosOptions {
  seconds: number;
  rate: number;
  loopsPerTarget: number;
  log(line: string): void;
}

export async function runChaos(options: ChaosOptions): Promise<{ verdict: ReturnType<typeof judge>; table: string; alive: boolean; logLines: string[] }> {
  const rig = await Rig.start({ hosts: 3, workers: 2, staticTarget: true });
  // Stopped in finally too: a fault that throws must not leave the load running (the process
  // would never exit).
  let traffic: Traffic | undefined;
  try {
    const outcomes: Outcome[] = [];
    traffic = new Traffic({
      targets: [
        { name: 'ads', port: rig.adsPort },
        { name: 'static', port: rig.staticPort },
      ],
      loopsPerTarget: options.loopsPerTarget,
      // A quarter of the loops open a connection per request.
      newConnectionLoops: Math.floor(options.loopsPerTarget / 4),
      rate: options.rate,
      mix: ['get'],
      onOutcome: (o) => outcomes.push(o),
    });
    const startedAt = Date.now();
    traffic.start();
    const warmupMs = 3000;
    const slotMs = Math.max(4000, (options.seconds * 1000 - warmupMs - 2000) / FAULTS.length);
    const windows: FaultWindow[] = [];
    for (const [i, fault] of FAULTS.entries()) {
      const at = startedAt + warmupMs + i * slotMs;
      if (at > Date.now()) await sleep(at - Date.now());
      windows.push(await runFault(fault, rig, (line) => options.log(`chaos +${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${line}`)));
    }
    const endAt = startedAt + options.seconds * 1000;
    if (endAt > Date.now()) await sleep(endAt - Date.now());
    await traffic.stop();
    const alive = rig.ads.child.exitCode === null && rig.static?.child.exitCode === null;
    // Let the workers write their last access log lines.
    await sleep(500);
    const verdict = judge(outcomes, windows, readAccessLog(rig.accessLogPath));
    if (!alive) {
      verdict.pass = false;
      verdict.reasons.push('a Legate process exited');
    }
    const logLines = [...rig.ads.stderrLines.map((l) => `ads: ${l}`), ...(rig.static?.stderrLines ?? []).map((l) => `static: ${l}`)];
    return { verdict, table: formatChaosTable(verdict), alive, logLines };
  } finally {
    try {
      await traffic?.stop();
    } finally {
      await rig.close();
    }
  }
}

async function runFault(fault: Fault, rig: Rig, log: (line: string) => void): Promise<FaultWindow> {
  const start = Date.now();
  log(fault.name);
  const note = await fault.run(rig);
  const end = Date.now();
  log(`${fault.name} over in ${end - start} ms: ${note}`);
  return { name: fault.name, start, end, note };
}

if (import.meta.main) {
  const cli = new CommandLine(
    'chaos',
    [
      'usage: npm run chaos -- [options]',
      '  --seconds N   run length; the faults are spread over it (default 60)',
      '  --rate N      requests per second of the steady load (default 300)',
      '  --loops N     client connections per target, a quarter of them new per request (default 8)',
      '  --out DIR     where chaos-latest.json goes (default bench/results)',
    ].join('\n'),
  );
  const values = cli.parse({
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '300' },
    loops: { type: 'string', default: '8' },
    out: { type: 'string', default: resolve(import.meta.dirname, '..', 'results') },
  });
  const result = await runChaos({
    seconds: cli.number('seconds', values.seconds, 1),
    rate: cli.number('rate', values.rate, 1),
    loopsPerTarget: cli.number('loops', values.loops, 1),
    log: (line) => console.error(line),
  });
  console.log(result.table);
  if (!result.verdict.pass) console.log(`\ntarget missed:\n- ${result.verdict.reasons.join('\n- ')}`);
  for (const f of result.verdict.failures.slice(0, 20)) console.log(`failure: ${JSON.stringify(f)}`);
  mkdirSync(values.out, { recursive: true });
  const file = join(values.out, 'chaos-latest.json');
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), options: values, ...result }, null, 2));
  console.log(`\nwrote ${file}`);
  process.exit(result.verdict.pass ? 0 : 1);
}
