// The bootstrap fuzzer: mutated configs through `legate validate`'s own calls, in a worker thread
// so each call's time is bounded. Oracles: a config is accepted or rejected with one-line
// ConfigErrors (never another exception, never the translators' "internal error" catch-all,
// never an empty or multi-line message), within CALL_TIMEOUT_MS, and the same way twice.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { caseRandom } from '../random.ts';
import { emptyReport, type Failure, type FuzzReport } from '../report.ts';
import { mutateConfig, type ConfigCase } from './mutate.ts';
import type { ValidateRequest, ValidateResult } from './validate-worker.ts';

export interface BootstrapFuzzOptions {
  seed: number;
  seconds: number;
  onlyCase?: number;
  log?: (line: string) => void;
}

const CALL_TIMEOUT_MS = 5000;
/** A fresh worker's first call also loads the validator (on a cold compile cache, every module's
 *  types stripped): seconds under a loaded CI machine, which is not a hang. */
const FIRST_CALL_TIMEOUT_MS = 60_000;
const MAX_SHRUNK = 3;
const MAX_SHRINK_CALLS = 200;
/** Shrinking stops after this long, whatever it reached. */
const SHRINK_MS = 30_000;
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SEED_DIRS = ['examples', 'test/fixtures/config'];

/** The valid configs mutations start from. */
export function seedConfigs(): { file: string; text: string }[] {
  return SEED_DIRS.flatMap((dir) =>
    readdirSync(join(REPO, dir))
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(REPO, dir, f), 'utf8') })),
  );
}

/** A validator in a worker thread; a call that overruns its time kills the worker (a new one follows). */
class Validator {
  private worker: Worker | undefined;
  private nextId = 0;

  async validate(file: string): Promise<ValidateResult | 'timeout' | 'worker-died'> {
    const fresh = this.worker === undefined;
    this.worker ??= new Worker(new URL('./validate-worker.ts', import.meta.url), { stdout: true, stderr: true });
    const worker = this.worker;
    const timeoutMs = fresh ? FIRST_CALL_TIMEOUT_MS : CALL_TIMEOUT_MS;
    const request: ValidateRequest = { id: ++this.nextId, file };
    return new Promise((resolve) => {
      const done = (result: ValidateResult | 'timeout' | 'worker-died') => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        worker.off('error', onError);
        if (result === 'timeout' || result === 'worker-died') {
          this.worker = undefined;
          void worker.terminate();
        }
        resolve(result);
      };
      const onMessage = (m: ValidateResult) => m.id === request.id && done(m);
      const onExit = () => done('worker-died');
      const onError = () => done('worker-died');
      const timer = setTimeout(() => done('timeout'), timeoutMs);
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      worker.once('error', onError);
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}

type Verdict = { outcome: string; problem?: { kind: string; detail: string } };

function judge(result: ValidateResult | 'timeout' | 'worker-died'): Verdict {
  if (result === 'timeout') return { outcome: 'timeout', problem: { kind: 'hang', detail: `validate did not answer within ${CALL_TIMEOUT_MS} ms (${FIRST_CALL_TIMEOUT_MS} ms for a fresh worker's first call)` } };
  if (result === 'worker-died') return { outcome: 'died', problem: { kind: 'crash', detail: 'the validating thread died' } };
  const text = `${result.outcome}: ${result.lines.join(' | ')}`;
  if (result.outcome === 'threw') return { outcome: text, problem: { kind: 'unexpected-exception', detail: result.lines[0] } };
  for (const line of result.lines) {
    if (line.includes('internal error while translating')) return { outcome: text, problem: { kind: 'internal-error', detail: line } };
    if (line.trim() === '' || /[\r\n]/.test(line)) return { outcome: text, problem: { kind: 'unclear-error', detail: JSON.stringify(line) } };
  }
  return { outcome: text };
}

export async function fuzzBootstrap(options: BootstrapFuzzOptions): Promise<FuzzReport> {
  const report = emptyReport('bootstrap', options.seed);
  report.extra = { hangs: 0 };
  const log = options.log ?? (() => {});
  const seeds = seedConfigs();
  const dir = mkdtempSync(join(tmpdir(), 'legate-fuzz-config-'));
  const validator = new Validator();
  let started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let shrunk = 0;
  const check = async (c: ConfigCase, name: string): Promise<Verdict> => {
    const file = join(dir, `${name}.${c.ext}`);
    writeFileSync(file, c.text, 'latin1');
    // The file path appears in messages: the same name for both calls.
    const first = judge(await validator.validate(file));
    if (first.problem !== undefined) return first;
    const second = judge(await validator.validate(file));
    if (second.problem !== undefined) return second;
    if (first.outcome !== second.outcome) return { outcome: first.outcome, problem: { kind: 'nondeterministic', detail: `first ${first.outcome.slice(0, 300)}; then ${second.outcome.slice(0, 300)}` } };
    return first;
  };
  try {
    // The budget is for inputs: the worker loads the validator on its first call, before the clock.
    const warm = join(dir, `warm${extname(seeds[0].file)}`);
    writeFileSync(warm, seeds[0].text, 'latin1');
    await validator.validate(warm);
    started = performance.now();
    for (let index = options.onlyCase ?? 0; options.onlyCase === undefined ? elapsed() < options.seconds : index === options.onlyCase; index++) {
      const random = caseRandom(options.seed, index);
      const seed = random.pick(seeds);
      const c = mutateConfig(index, seed.file, seed.text, random);
      const verdict = await check(c, 'case');
      report.inputs++;
      if (verdict.outcome.startsWith('accepted')) report.forwarded++;
      else if (verdict.outcome.startsWith('rejected')) report.rejections++;
      if (verdict.problem === undefined) continue;
      if (verdict.problem.kind === 'crash') report.crashes++;
      if (verdict.problem.kind === 'hang') report.extra.hangs++;
      const failure: Failure = { ...verdict.problem, caseIndex: index, input: `${seed.file} ${c.notes.join('; ')}:\n${c.text}` };
      log(`bootstrap: FAIL ${failure.kind} case ${index}: ${failure.detail.split('\n')[0]}`);
      if (shrunk < MAX_SHRUNK) {
        shrunk++;
        const minimal = await shrinkLines(c, verdict.problem.kind, (candidate) => check(candidate, 'shrink'));
        if (minimal !== undefined) failure.minimal = minimal;
      }
      report.failures.push(failure);
      if (report.failures.length >= 50) break;
    }
  } finally {
    report.seconds = elapsed();
    await validator.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

/** Removes lines (then characters of a one-line file) while the failure kind stays; bounded in calls. */
async function shrinkLines(c: ConfigCase, kind: string, check: (c: ConfigCase) => Promise<Verdict>): Promise<string | undefined> {
  let calls = 0;
  const until = performance.now() + SHRINK_MS;
  const fails = async (text: string) => {
    if (performance.now() > until) calls = MAX_SHRINK_CALLS; // out of time: stop at what we have
    calls++;
    return (await check({ ...c, text })).problem?.kind === kind;
  };
  let units = c.text.includes('\n') ? c.text.split('\n') : [...c.text];
  const joiner = c.text.includes('\n') ? '\n' : '';
  for (let size = Math.max(1, units.length >> 1); size >= 1 && calls < MAX_SHRINK_CALLS; size = size === 1 ? 0 : size >> 1) {
    for (let at = 0; at < units.length && calls < MAX_SHRINK_CALLS; ) {
      const candidate = [...units.slice(0, at), ...units.slice(at + size)];
      if (candidate.length > 0 && (await fails(candidate.join(joiner)))) units = candidate;
      else at += size;
    }
  }
  return units.join(joiner);
}
