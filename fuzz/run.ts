// npm run fuzz -- --seconds N [--seed S] [--only http1|bootstrap|http2] [--case I]
// Runs each fuzzer for N seconds (one after the other), prints its counts and failures, and exits
// non-zero when any failed. See README.md. Its command line is the hand-run bench scripts' own
// (bench/command-line.ts).
import { CommandLine } from '../bench/command-line.ts';
import { fuzzBootstrap } from './bootstrap/fuzzer.ts';
import { fuzzHttp1 } from './http1/fuzzer.ts';
import { fuzzHttp2 } from './http2/fuzzer.ts';
import { formatReport, type FuzzReport } from './report.ts';

const FUZZERS = ['http1', 'bootstrap', 'http2'] as const;
type FuzzerName = (typeof FUZZERS)[number];

export async function runFuzzer(name: FuzzerName, options: { seed: number; seconds: number; onlyCase?: number; log?: (line: string) => void }): Promise<FuzzReport> {
  switch (name) {
    case 'http1':
      return fuzzHttp1(options);
    case 'bootstrap':
      return fuzzBootstrap(options);
    case 'http2':
      return fuzzHttp2(options);
  }
}

async function main(): Promise<void> {
  const cli = new CommandLine(
    'fuzz',
    [
      'usage: npm run fuzz -- [options]',
      '  --seconds N   how long each fuzzer runs (default 30)',
      '  --seed S      the random seed, a whole number (default: a new one, printed in the report)',
      `  --only LIST   fuzzers to run, comma-separated (${FUZZERS.join(', ')}; default all)`,
      '  --case I      run only case I of the seed (to replay a failure)',
    ].join('\n'),
  );
  const values = cli.parse({ seconds: { type: 'string', default: '30' }, seed: { type: 'string' }, only: { type: 'string' }, case: { type: 'string' } });
  const seconds = cli.number('seconds', values.seconds, 0.001);
  const whole = (name: string, value: string): number => {
    const n = cli.number(name, value);
    return Number.isInteger(n) ? n : cli.fail(`--${name} must be a whole number, not '${value}'`);
  };
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : whole('seed', values.seed);
  const only = values.only?.split(',') ?? [...FUZZERS];
  for (const name of only) if (!(FUZZERS as readonly string[]).includes(name)) cli.fail(`--only: unknown fuzzer '${name}' (${FUZZERS.join(', ')})`);
  const onlyCase = values.case === undefined ? undefined : whole('case', values.case);
  let failed = false;
  for (const name of only as FuzzerName[]) {
    const report = await runFuzzer(name, { seed, seconds, onlyCase, log: (line) => console.error(line) });
    console.log(formatReport(report));
    failed ||= report.crashes > 0 || report.failures.length > 0;
  }
  process.exit(failed ? 1 : 0);
}

if (import.meta.main) {
  main().catch((err: Error) => {
    console.error(`fuzz: ${process.env.LEGATE_DEBUG ? err.stack : err.message}`);
    process.exit(2);
  });
}
