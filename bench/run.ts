// npm run bench: measure Legate side by side with what a user would otherwise run, in one run.
// See bench/README.md for what each scenario and target is and how to read the table.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { LOAD_GENERATORS, defaultLoadGenerator, describeLoadGenerator, wrkBinary, type LoadGeneratorName } from './generator.ts';
import { describeMachine } from './machine.ts';
import { measureMesh, type MeshOptions } from './mesh.ts';
import { planPinning } from './pinning.ts';
import { QUICK_SCENARIOS, SCENARIOS, scenarioByName } from './scenarios.ts';
import { runSession } from './session.ts';
import { summarize } from './summary.ts';
import { TARGETS, targetByName } from './targets/index.ts';
import { updateReadme, writeResults, type BenchReport } from './report.ts';

const DEFAULT_OUT = path.join(import.meta.dirname, 'results');
const README = path.join(import.meta.dirname, 'README.md');

function positive(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number');
  return number;
}

function whole(value: string): number {
  const number = positive(value);
  if (!Number.isInteger(number)) throw new InvalidArgumentError('expected a whole number');
  return number;
}

function generatorName(value: string): LoadGeneratorName {
  if (!(LOAD_GENERATORS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${LOAD_GENERATORS.join(', ')}`);
  }
  return value as LoadGeneratorName;
}

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter(Boolean);
}

const program = new Command('npm run bench --')
  .description('Measure Legate against direct, a Node L4 pipe, a naive node:http + undici proxy, http-proxy, fast-proxy, nginx and HAProxy in one run.')
  .option('-d, --duration <seconds>', 'measured seconds per target, scenario and round', positive, 5)
  .option('-w, --warmup <seconds>', 'warm-up seconds before each measurement', positive, 1)
  .option('-c, --connections <n>', 'load generator connections (the tcp scenario uses 8 streams)', whole, 50)
  .option('-r, --rounds <n>', 'rounds; each round runs every target once per scenario', whole, 3)
  .option('-s, --scenarios <list>', `comma-separated, of: ${SCENARIOS.map((s) => s.name).join(', ')}`, list)
  .option('-t, --targets <list>', `comma-separated, of: ${TARGETS.map((t) => t.name).join(', ')}`, list)
  .option(
    '-g, --load-generator <name>',
    `HTTP load generator, ${LOAD_GENERATORS.join(' or ')} (default: wrk when installed, else autocannon; rate1k always uses paced autocannon)`,
    generatorName,
  )
  .option('-q, --quick', `1 round, 2 s per target, scenarios ${QUICK_SCENARIOS.join(' and ')} (explicit options win)`)
  .option('--mesh <sizes>', 'mesh-scale sizes (services, comma-separated; default 1000,5000,10000 on a run of every scenario, none otherwise)', list)
  .option('--no-mesh', 'leave the mesh-scale section out')
  .option('--json <file>', 'also write the JSON with every raw figure to this file')
  .option('--out <dir>', 'results directory (README.md is updated only for the default one)', DEFAULT_OUT)
  .option('--no-pin', 'do not pin processes to CPUs with taskset')
  .showHelpAfterError();

program.parse();
const opts = program.opts<{
  duration: number;
  warmup: number;
  connections: number;
  rounds: number;
  scenarios?: string[];
  targets?: string[];
  loadGenerator?: LoadGeneratorName;
  quick?: boolean;
  mesh?: string[] | false;
  json?: string;
  out: string;
  pin: boolean;
}>();
const explicit = (name: string) => program.getOptionValueSource(name) === 'cli';
if (opts.quick) {
  if (!explicit('rounds')) opts.rounds = 1;
  if (!explicit('duration')) opts.duration = 2;
  if (!explicit('warmup')) opts.warmup = 0.5;
  if (!explicit('scenarios')) opts.scenarios = QUICK_SCENARIOS;
}

let scenarios;
let targets;
try {
  scenarios = (opts.scenarios ?? SCENARIOS.map((s) => s.name)).map(scenarioByName);
  targets = (opts.targets ?? TARGETS.map((t) => t.name)).map(targetByName);
} catch (error) {
  console.error(`bench: ${(error as Error).message}`);
  process.exit(2);
}

const loadGenerator = opts.loadGenerator ?? defaultLoadGenerator();
if (loadGenerator === 'wrk' && !wrkBinary()) {
  console.error('bench: --load-generator wrk, but wrk is not on PATH (apt-get install wrk)');
  process.exit(2);
}

// Ctrl-C and kill go through process.exit, whose handler in child.ts stops every child.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const pinning = planPinning(opts.pin);
const log = (line: string) => console.error(line);
log(`bench: ${pinning.description}`);
const loadGeneratorDescription = describeLoadGenerator(loadGenerator, scenarios, opts.loadGenerator === undefined);
log(`bench: load generator ${loadGeneratorDescription}`);
const startedAt = new Date().toISOString();
const machine = describeMachine();
const cells = await runSession({
  scenarios,
  targets,
  rounds: opts.rounds,
  durationSeconds: opts.duration,
  warmupSeconds: opts.warmup,
  connections: opts.connections,
  loadGenerator,
  pinning,
  log,
});
// Control-plane scale, after the load (it needs no pinning and no load generator).
const meshSizes = opts.mesh === false ? [] : opts.mesh !== undefined ? opts.mesh.map(Number) : opts.scenarios === undefined ? [1000, 5000, 10_000] : [];
let mesh: BenchReport['mesh'];
if (meshSizes.length > 0) {
  const meshOptions: MeshOptions = { sizes: meshSizes, workers: 1, changes: 10, apiType: 'GRPC' };
  mesh = { options: meshOptions, rows: await measureMesh(meshOptions, log) };
}
const args = process.argv.slice(2).join(' ');
const report: BenchReport = {
  startedAt,
  finishedAt: new Date().toISOString(),
  command: `npm run bench${args ? ` -- ${args}` : ''}`,
  options: {
    durationSeconds: opts.duration,
    warmupSeconds: opts.warmup,
    connections: opts.connections,
    rounds: opts.rounds,
    loadGenerator,
  },
  loadGenerator: loadGeneratorDescription,
  pinning: pinning.description,
  machine,
  scenarios,
  targets: targets.map((t) => ({ name: t.name, description: t.description })),
  cells,
  summary: summarize(cells, scenarios),
  mesh,
};
const outDir = path.resolve(opts.out);
const markdown = writeResults(report, outDir, opts.json);
if (outDir === DEFAULT_OUT) updateReadme(README, markdown);
console.log(markdown);
log(`bench: results in ${outDir}${opts.json ? ` and ${opts.json}` : ''}`);
