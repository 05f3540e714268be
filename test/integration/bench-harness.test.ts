// The bench harness end to end on a 1-second run: it must produce figures for each target and
// a table row for each. Nothing here judges the figures themselves: bench is not a timed test.
import t from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const LEGATE = fs.existsSync(path.join(REPO, 'proxy', 'cli.ts'));
const TARGETS = ['direct', 'l4-pipe', ...(LEGATE ? ['legate-1'] : [])];

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBench(args: string[], timeoutMs: number, teardown: (fn: () => void) => void): Promise<Exit> {
  const child = spawn(process.execPath, [path.join(REPO, 'bench', 'run.ts'), ...args], { cwd: REPO });
  // SIGTERM lets the bench stop the proxies and upstream it started.
  const kill = () => child.kill('SIGTERM');
  const timer = setTimeout(kill, timeoutMs);
  teardown(() => {
    clearTimeout(timer);
    if (child.exitCode === null) kill();
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

t.test('a 1-second run measures every target and reports it', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-harness-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const jsonFile = path.join(out, 'run.json');
  const args = ['--duration', '1', '--warmup', '0.2', '--rounds', '1', '--scenarios', 'get64'];
  args.push('--targets', TARGETS.join(','), '--out', out, '--json', jsonFile);
  const exit = await runBench(args, 90_000, (fn) => t.teardown(fn));
  t.equal(exit.code, 0, `bench exits 0: ${exit.stderr.slice(-2000)}`);

  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  t.equal(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'), fs.readFileSync(jsonFile, 'utf8'), '--json copies latest.json');
  const cell = (target: string) => report.cells.find((c: { scenario: string; target: string }) => c.scenario === 'get64' && c.target === target);
  const summary = (target: string) => report.summary.find((c: { scenario: string; target: string }) => c.scenario === 'get64' && c.target === target);

  for (const target of ['direct', 'l4-pipe']) {
    const measured = cell(target);
    t.equal(measured?.status, 'ok', `${target} measured: ${measured?.reason ?? ''}`);
    const [m] = measured.measurements;
    t.ok(m.requests > 0, `${target} completed requests`);
    t.equal(m.statusCounts['200'], m.requests, `${target}: every response a 200`);
    for (const key of ['p50', 'p90', 'p99', 'p999', 'max']) t.ok(m.latencyMs[key] > 0, `${target} latency ${key}`);
    t.type(m.latencyHistogram, 'string', `${target} raw histogram kept`);
    t.ok(summary(target).rps.median > 0, `${target} summarised`);
  }
  const pipe = cell('l4-pipe').measurements[0];
  t.ok(pipe.cpuSeconds >= 0 && pipe.rssBytes > 0, 'proxy CPU and memory read from /proc');
  t.equal(summary('l4-pipe').vsL4Pipe, 1, 'the L4 pipe is its own reference');
  t.equal(cell('direct').measurements[0].cpuSeconds, undefined, 'no proxy process for direct');

  if (LEGATE) {
    const legate = cell('legate-1');
    if (legate.status === 'ok') t.ok(legate.measurements[0].requests > 0, 'legate-1 completed requests');
    else t.ok(legate.reason, `legate-1 not measured, with a reason: ${legate.reason}`);
  }

  const markdown = fs.readFileSync(path.join(out, 'latest.md'), 'utf8');
  for (const target of TARGETS) t.match(markdown, new RegExp(`^\\| get64 \\| ${target} \\|`, 'm'), `table row for ${target}`);
  t.match(exit.stdout, /\| get64 \| direct \|/, 'the table is printed');
  t.match(fs.readFileSync(path.join(out, 'latency-get64.svg'), 'utf8'), /^<svg[^>]*>[\s\S]*<\/svg>\s*$/, 'latency plot written');
});
