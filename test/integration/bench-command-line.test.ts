// The hand-run scripts' command lines (bench/command-line.ts): --help prints the options and exits
// 0; an unknown option or a bad number prints one line naming it, then the usage, and exits 2,
// before anything starts.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const script = (path: string): string => fileURLToPath(new URL(`../../bench/${path}`, import.meta.url));

function run(path: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [script(path), ...args], { encoding: 'utf8', timeout: 30_000 });
}

t.test('--help prints the usage', async (t) => {
  const soak = run('reliability/soak.ts', ['--help']);
  t.equal(soak.status, 0);
  t.match(soak.stdout, /^usage: npm run soak -- \[options\]/);
  t.match(soak.stdout, /--max-slope N/);
  const chaos = run('reliability/chaos.ts', ['-h']);
  t.equal(chaos.status, 0);
  t.match(chaos.stdout, /^usage: npm run chaos/);
  const fuzz = run('../fuzz/run.ts', ['--help']);
  t.equal(fuzz.status, 0);
  t.match(fuzz.stdout, /^usage: npm run fuzz -- \[options\]/);
});

t.test('bad input: one line naming it, the usage, exit 2', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['reliability/chaos.ts', ['--bogus'], /^chaos: Unknown option '--bogus'/],
    ['reliability/soak.ts', ['--minutes', 'x'], /^soak: --minutes must be a number of at least 0.1, not 'x'/],
    ['reliability/soak.ts', ['--rate'], /^soak: Option '--rate <value>' argument missing/],
    ['idle-memory.ts', ['--workers', '0'], /^idle-memory: --workers must be a number of at least 1, not '0'/],
    ['mesh-scale.ts', ['--api', 'X'], /^mesh-scale: --api must be GRPC or DELTA_GRPC, not 'X'/],
    ['../fuzz/run.ts', ['--seed', '1.5'], /^fuzz: --seed must be a whole number, not '1.5'/],
    ['../fuzz/run.ts', ['--only', 'http3'], /^fuzz: --only: unknown fuzzer 'http3'/],
    ['../fuzz/run.ts', ['--nope'], /^fuzz: Unknown option '--nope'/],
  ];
  for (const [path, args, first] of cases) {
    const r = run(path, args);
    t.equal(r.status, 2, `${path} ${args.join(' ')}`);
    t.match(r.stderr, first);
    t.match(r.stderr.split('\n')[1], /^usage: /, 'then the usage');
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
