// The HTTP/1 request fuzzer: batches of generated connections against Legate, then the oracles:
// Legate is alive (its process runs, a fresh GET gets 200); the upstream received only
// well-framed requests (strict parser); on each connection the 2xx responses relayed are exactly
// the requests the upstream received for it, in the same order; nothing follows a response that
// said connection: close; and, for inputs not mutated byte by byte, ambiguous or malformed
// requests are answered 4xx with nothing of them (or after them) forwarded, while valid ones are
// served in order. A failing case is replayed alone and shrunk.
import { caseRandom } from '../random.ts';
import type { UpstreamRequest } from '../recording-upstream.ts';
import { emptyReport, type Failure, type FuzzReport } from '../report.ts';
import { startTarget, type Target } from '../target.ts';
import { exchange, type Exchange } from './client.ts';
import { generateCase, type Http1Case } from './generate.ts';

export interface Http1FuzzOptions {
  seed: number;
  seconds: number;
  /** Replay this case alone. */
  onlyCase?: number;
  concurrency?: number;
  log?: (line: string) => void;
}

const TIMING = { quietMs: 150, deadlineMs: 5000 };
/** Failures shrunk per run (each shrink replays the case up to MAX_SHRINK_RUNS times). */
const MAX_SHRUNK = 3;
/** Shrinking stops after this long, whatever it reached. */
const SHRINK_MS = 30_000;
const MAX_SHRINK_RUNS = 120;

interface Outcome {
  exchange: Exchange;
  upstream: UpstreamRequest[];
}

export async function fuzzHttp1(options: Http1FuzzOptions): Promise<FuzzReport> {
  const report = emptyReport('http1', options.seed);
  const log = options.log ?? (() => {});
  const target = await startTarget();
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let shrunk = 0;
  try {
    let next = options.onlyCase ?? 0;
    const concurrency = options.onlyCase === undefined ? (options.concurrency ?? 8) : 1;
    while (options.onlyCase === undefined ? elapsed() < options.seconds : next === options.onlyCase) {
      const cases: Http1Case[] = [];
      for (let i = 0; i < concurrency; i++, next++) cases.push(generateCase(next, caseRandom(options.seed, next)));
      target.upstream.clear();
      const exchanges = await Promise.all(cases.map((c) => exchange(target.port(), c.input, c.splits, TIMING, forwardedTo(target), expectedResponses(c))));
      report.inputs += cases.length;
      const batchFailures = await checkProcess(target);
      report.forwarded += target.upstream.requests.length;
      const faults = target.upstream.faults.map((f) => `${f.error}; upstream received (hex): ${f.rawHex}`);
      const found: { c: Http1Case; failure: Omit<Failure, 'caseIndex' | 'input'> }[] = [];
      cases.forEach((c, i) => {
        const ex = exchanges[i];
        report.rejections += ex.responses.filter((r) => r.seq === undefined && r.status >= 400).length;
        for (const f of checkCase(c, { exchange: ex, upstream: target.upstream.requestsOf(String(ex.localPort)) })) found.push({ c, failure: f });
      });
      if (batchFailures.length + faults.length > 0) {
        if (batchFailures.some((f) => f.kind === 'crash')) report.crashes++;
        // Which case did it? Each one alone, on a fresh Legate after a crash.
        if (batchFailures.length > 0) await target.restart();
        const culprit = await findCulprit(target, cases);
        const c = culprit ?? cases[0];
        for (const f of batchFailures) found.push({ c, failure: { kind: f.kind, detail: `${f.detail}${culprit === undefined ? ' (no single case of the batch repeats it)' : ''}` } });
        for (const fault of faults) found.push({ c, failure: { kind: 'upstream-framing', detail: fault } });
      }
      for (const { c, failure } of found) {
        const entry: Failure = { ...failure, caseIndex: c.index, input: describe(c) };
        if (shrunk < MAX_SHRUNK && !failure.kind.startsWith('expect')) {
          shrunk++;
          const minimal = await shrink(target, c, failure.kind);
          if (minimal !== undefined) entry.minimal = minimal.toString('hex');
        }
        report.failures.push(entry);
        log(`http1: FAIL ${failure.kind} case ${c.index}: ${failure.detail}`);
      }
      if (report.failures.length >= 50) break;
    }
  } finally {
    report.seconds = elapsed();
    await target.stop();
  }
  return report;
}

/** The responses an unmutated input must get: its leading valid requests', and a rejection's. */
function expectedResponses(c: Http1Case): number {
  if (c.mutated) return 0;
  const k = c.requests.findIndex((r) => r.expect !== 'serve');
  return k < 0 ? c.requests.length : k + (c.requests[k].expect === 'reject' ? 1 : 0);
}

function forwardedTo(target: Target): (localPort: number) => number {
  return (localPort) => target.upstream.requestsOf(String(localPort)).length;
}

function describe(c: Http1Case): string {
  const notes = c.requests.map((r) => `${r.note}:${r.expect}`).join(' ');
  const splits = c.splits.length > 0 ? ` split at ${c.splits.join(',')}` : '';
  return `${c.input.toString('hex')} (${notes}${c.mutated ? ', mutated' : ''}${splits})`;
}

async function checkProcess(target: Target): Promise<Omit<Failure, 'caseIndex' | 'input'>[]> {
  const exit = target.exited();
  if (exit !== undefined) return [{ kind: 'crash', detail: `legate ${exit}; its last log lines:\n${target.lastLog()}` }];
  const problem = await target.alive();
  if (problem !== '') return [{ kind: target.exited() === undefined ? 'unresponsive' : 'crash', detail: `a plain GET after the batch: ${problem}\n${target.lastLog()}` }];
  return [];
}

const PATH_INDEX = /\/fz\/\d+\/(\d+)/;

/** The oracles for one connection. */
export function checkCase(c: Http1Case, { exchange: ex, upstream }: Outcome): Omit<Failure, 'caseIndex' | 'input'>[] {
  const out: Omit<Failure, 'caseIndex' | 'input'>[] = [];
  if (ex.connectError !== undefined) out.push({ kind: 'unresponsive', detail: `connect: ${ex.connectError}` });
  if (ex.responseFault !== undefined) out.push({ kind: 'response-framing', detail: ex.responseFault });
  if (ex.afterClose) out.push({ kind: 'bytes-after-close', detail: 'bytes came after a response that said connection: close' });
  const relayed = ex.responses.filter((r) => r.seq !== undefined).map((r) => r.seq);
  // A request that reached the upstream after the connection ended had no one to answer to.
  const inTime = upstream.filter((u) => u.at <= ex.endedAt);
  const received = inTime.map((u) => u.seq);
  if (relayed.join() !== received.join()) {
    out.push({ kind: 'count-or-order', detail: `upstream received ${received.length} requests (seq ${received.join(',')}: ${inTime.map((u) => u.path.slice(0, 60)).join(' ')}), 2xx relayed for seq ${relayed.join(',')}` });
  }
  const local2xx = ex.responses.filter((r) => r.seq === undefined && r.status < 300);
  if (local2xx.length > 0) out.push({ kind: 'local-2xx', detail: `Legate answered ${local2xx.map((r) => r.status).join(',')} itself` });
  if (c.mutated || out.length > 0) return out;

  // Expectations of an unmutated input.
  const k = c.requests.findIndex((r) => r.expect !== 'serve');
  const served = k < 0 ? c.requests.length : k;
  const statuses = ex.responses.map((r) => r.status).join(',');
  for (let i = 0; i < served; i++) {
    const r = ex.responses[i];
    const u = upstream.find((x) => x.seq === r?.seq);
    const index = u === undefined ? undefined : PATH_INDEX.exec(u.path)?.[1];
    if (r === undefined || u === undefined || index !== String(i)) {
      out.push({ kind: 'expect-serve', detail: `request ${i} (${c.requests[i].note}) was not served in order (responses ${statuses}; upstream saw ${upstream.map((x) => x.path.slice(0, 60)).join(' ')})` });
      return out;
    }
  }
  const rejected = k < 0 ? undefined : c.requests[k];
  if (rejected?.expect === 'reject') {
    const r = ex.responses[k];
    if (upstream.length > k) out.push({ kind: 'ambiguous-forwarded', detail: `request ${k} (${rejected.note}) or what followed reached the upstream: ${upstream.slice(k).map((x) => `${x.method} ${x.path.slice(0, 60)}`).join(', ')}` });
    if (r === undefined || r.seq !== undefined || r.status < 400 || r.status > 499 || !r.close) out.push({ kind: 'expect-reject', detail: `request ${k} (${rejected.note}) was not answered 4xx with connection: close (responses ${statuses})` });
    if (ex.responses.length > k + 1) out.push({ kind: 'answered-after-reject', detail: `responses after the rejected request ${k}: ${statuses}` });
  } else if (k < 0 && c.requests.at(-1)!.last && (upstream.length !== served || ex.responses.length !== served)) {
    out.push({ kind: 'answered-after-close', detail: `the last request (${c.requests.at(-1)!.note}) ends the connection, yet responses ${statuses} and ${upstream.length} upstream requests` });
  }
  return out;
}

/** One input alone on the target: the failures it causes (process, upstream framing, oracles). */
async function runAlone(target: Target, c: Http1Case): Promise<Omit<Failure, 'caseIndex' | 'input'>[]> {
  target.upstream.clear();
  const ex = await exchange(target.port(), c.input, c.splits, TIMING, forwardedTo(target), expectedResponses(c));
  const failures = await checkProcess(target);
  for (const f of target.upstream.faults) failures.push({ kind: 'upstream-framing', detail: f.error });
  failures.push(...checkCase(c, { exchange: ex, upstream: target.upstream.requestsOf(String(ex.localPort)) }));
  if (failures.some((f) => f.kind === 'crash' || f.kind === 'unresponsive')) await target.restart();
  return failures;
}

async function findCulprit(target: Target, cases: Http1Case[]): Promise<Http1Case | undefined> {
  for (const c of cases) {
    const failures = await runAlone(target, c);
    if (failures.some((f) => f.kind === 'crash' || f.kind === 'unresponsive' || f.kind === 'upstream-framing')) return c;
  }
  return undefined;
}

/**
 * A smaller input that still fails with `kind` (treated as mutated: only the general oracles),
 * by removing ever smaller ranges; bounded in replays.
 */
async function shrink(target: Target, c: Http1Case, kind: string): Promise<Buffer | undefined> {
  let runs = 0;
  const until = performance.now() + SHRINK_MS;
  const fails = async (input: Buffer, splits: number[]) => {
    runs++;
    if (performance.now() > until) runs = MAX_SHRINK_RUNS; // out of time: stop at what we have
    const failures = await runAlone(target, { ...c, input, splits, mutated: true });
    return failures.some((f) => f.kind === kind);
  };
  let splits = c.splits;
  if (!(await fails(c.input, splits))) return undefined;
  if (splits.length > 0 && (await fails(c.input, []))) splits = [];
  let input = c.input;
  for (let size = Math.max(1, input.length >> 1); size >= 1 && runs < MAX_SHRINK_RUNS; size = size === 1 ? 0 : size >> 1) {
    for (let at = 0; at < input.length && runs < MAX_SHRINK_RUNS; ) {
      const candidate = Buffer.concat([input.subarray(0, at), input.subarray(at + size)]);
      const candidateSplits = splits.filter((s) => s < candidate.length);
      if (candidate.length > 0 && (await fails(candidate, candidateSplits))) {
        input = candidate;
        splits = candidateSplits;
      } else {
        at += size;
      }
    }
  }
  return input;
}
