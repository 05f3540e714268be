// The HTTP/2 frame fuzzer: batches of raw HTTP/2 connections against Legate's AUTO listener,
// then the oracles: the process lives; a fresh HTTP/2 client request (node:http2) and a fresh
// HTTP/1 request both get 200; the upstream received only well-framed requests and none of
// those Legate had to refuse (a path with /h2x/: malformed header blocks, bad stream ids, frames
// that break the stream, content-length mismatches). A failing case is replayed alone and shrunk.
import http2 from 'node:http2';
import net from 'node:net';
import { caseRandom } from '../random.ts';
import { emptyReport, type Failure, type FuzzReport } from '../report.ts';
import { startTarget, type Target } from '../target.ts';
import { frameTypes, GOAWAY, HEADERS, RST_STREAM } from './frames.ts';
import { generateCase, type Http2Case } from './generate.ts';

export interface Http2FuzzOptions {
  seed: number;
  seconds: number;
  onlyCase?: number;
  concurrency?: number;
  log?: (line: string) => void;
}

const QUIET_MS = 150;
const DEADLINE_MS = 5000;
const MAX_SHRUNK = 3;
/** Shrinking stops after this long, whatever it reached. */
const SHRINK_MS = 30_000;
const MAX_SHRINK_RUNS = 80;

interface Answer {
  headers: number;
  resets: number;
  goaways: number;
}

/** Writes the input (in pieces) and counts what came back, until Legate closes or goes quiet. */
function exchange(port: number, c: Pick<Http2Case, 'input' | 'splits' | 'pauseReading'>): Promise<Answer> {
  return new Promise((resolve) => {
    const answer: Answer = { headers: 0, resets: 0, goaways: 0 };
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    let pending: Buffer = Buffer.alloc(0);
    let quiet: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(quiet);
      clearTimeout(deadline);
      socket.destroy();
      resolve(answer);
    };
    const deadline = setTimeout(finish, DEADLINE_MS);
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, QUIET_MS);
    };
    if (c.pauseReading) socket.pause();
    socket.once('connect', async () => {
      let at = 0;
      for (const offset of [...c.splits, c.input.length]) {
        if (finished || socket.destroyed) return;
        const piece = c.input.subarray(at, offset);
        at = offset;
        // Not waiting for the write callback: with reading paused that may never come.
        socket.write(piece);
        await new Promise((done) => setImmediate(done));
      }
      socket.resume();
      rearm();
    });
    socket.on('data', (chunk: Buffer) => {
      rearm();
      const { types, rest } = frameTypes(pending.length === 0 ? chunk : Buffer.concat([pending, chunk]));
      pending = rest;
      for (const type of types) {
        if (type === HEADERS) answer.headers++;
        else if (type === RST_STREAM) answer.resets++;
        else if (type === GOAWAY) answer.goaways++;
      }
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}

/** A plain HTTP/2 request over a fresh connection: '' when it got 200. */
function aliveH2(port: number): Promise<string> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const timer = setTimeout(() => {
      session.destroy();
      resolve('no HTTP/2 answer within 5 s');
    }, 5000);
    const done = (problem: string) => {
      clearTimeout(timer);
      session.close();
      resolve(problem);
    };
    session.on('error', (err) => done(`session error: ${err.message}`));
    const req = session.request({ ':path': '/fuzz-alive-h2' });
    req.on('response', (headers) => {
      req.resume();
      req.once('end', () => done(headers[':status'] === 200 ? '' : `HTTP/2 status ${headers[':status']}`));
    });
    req.on('error', (err) => done(`HTTP/2 stream error: ${err.message}`));
    req.end();
  });
}

async function checkProcess(target: Target): Promise<Omit<Failure, 'caseIndex' | 'input'>[]> {
  const exit = target.exited();
  if (exit !== undefined) return [{ kind: 'crash', detail: `legate ${exit}; its last log lines:\n${target.lastLog()}` }];
  const problems = [await aliveH2(target.port()), await target.alive()].filter((p) => p !== '');
  if (problems.length > 0) return [{ kind: target.exited() === undefined ? 'unresponsive' : 'crash', detail: `after the batch: ${problems.join('; ')}\n${target.lastLog()}` }];
  return [];
}

/** What the upstream received that it must not have. */
function upstreamFailures(target: Target): Omit<Failure, 'caseIndex' | 'input'>[] {
  const out: Omit<Failure, 'caseIndex' | 'input'>[] = target.upstream.faults.map((f) => ({ kind: 'upstream-framing', detail: `${f.error}; upstream received (hex): ${f.rawHex}` }));
  for (const r of target.upstream.requests) {
    if (r.path.includes('/h2x/')) out.push({ kind: 'refused-forwarded', detail: `the upstream received ${r.method} ${r.path}` });
    const bad = r.message.head.headers.filter(([name]) => /x.bad/i.test(name));
    if (bad.length > 0 && !r.path.includes('/h2m/')) out.push({ kind: 'bad-field-forwarded', detail: `the upstream received ${r.method} ${r.path} with ${JSON.stringify(bad)}` });
  }
  return out;
}

const CASE_OF = /\/h2[xm]?\/(\d+)\//;

export async function fuzzHttp2(options: Http2FuzzOptions): Promise<FuzzReport> {
  const report = emptyReport('http2', options.seed);
  report.extra = { resets: 0, goaways: 0 };
  const log = options.log ?? (() => {});
  const target = await startTarget();
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let shrunk = 0;
  try {
    let next = options.onlyCase ?? 0;
    const concurrency = options.onlyCase === undefined ? (options.concurrency ?? 8) : 1;
    while (options.onlyCase === undefined ? elapsed() < options.seconds : next === options.onlyCase) {
      const cases: Http2Case[] = [];
      for (let i = 0; i < concurrency; i++, next++) cases.push(generateCase(next, caseRandom(options.seed, next)));
      target.upstream.clear();
      const answers = await Promise.all(cases.map((c) => exchange(target.port(), c)));
      report.inputs += cases.length;
      for (const a of answers) {
        report.extra.resets += a.resets;
        report.extra.goaways += a.goaways;
        report.rejections += a.resets + a.goaways;
      }
      const found = [...(await checkProcess(target)), ...upstreamFailures(target)];
      report.forwarded += target.upstream.requests.length;
      if (found.length === 0) continue;
      if (found.some((f) => f.kind === 'crash')) report.crashes++;
      if (found.some((f) => f.kind === 'crash' || f.kind === 'unresponsive')) await target.restart();
      // The culprit: named by the refused path, or found by replaying each case alone.
      const named = found.map((f) => CASE_OF.exec(f.detail)?.[1]).find((x) => x !== undefined);
      const culprit = cases.find((c) => String(c.index) === named) ?? (await findCulprit(target, cases));
      const c = culprit ?? cases[0];
      for (const failure of found) {
        const entry: Failure = { ...failure, caseIndex: c.index, input: `${c.input.toString('hex')} (${c.notes.join(' ')}${c.mutated ? ', mutated' : ''})` };
        if (culprit === undefined) entry.detail += ' (no single case of the batch repeats it)';
        else if (shrunk < MAX_SHRUNK) {
          shrunk++;
          const minimal = await shrink(target, c, failure.kind);
          if (minimal !== undefined) entry.minimal = minimal.toString('hex');
        }
        report.failures.push(entry);
        log(`http2: FAIL ${failure.kind} case ${c.index}: ${failure.detail.split('\n')[0]}`);
      }
      if (report.failures.length >= 50) break;
    }
  } finally {
    report.seconds = elapsed();
    await target.stop();
  }
  return report;
}

async function runAlone(target: Target, c: Pick<Http2Case, 'input' | 'splits' | 'pauseReading'>): Promise<string[]> {
  target.upstream.clear();
  await exchange(target.port(), c);
  const failures = [...(await checkProcess(target)), ...upstreamFailures(target)].map((f) => f.kind);
  if (failures.includes('crash') || failures.includes('unresponsive')) await target.restart();
  return failures;
}

async function findCulprit(target: Target, cases: Http2Case[]): Promise<Http2Case | undefined> {
  for (const c of cases) if ((await runAlone(target, c)).length > 0) return c;
  return undefined;
}

/** A smaller input (the preface kept) that still fails with `kind`; bounded in replays. */
async function shrink(target: Target, c: Http2Case, kind: string): Promise<Buffer | undefined> {
  let runs = 0;
  const until = performance.now() + SHRINK_MS;
  const fails = async (input: Buffer) => {
    runs++;
    if (performance.now() > until) runs = MAX_SHRINK_RUNS; // out of time: stop at what we have
    return (await runAlone(target, { input, splits: [], pauseReading: c.pauseReading })).includes(kind);
  };
  if (!(await fails(c.input))) return undefined;
  let input = c.input;
  for (let size = Math.max(1, (input.length - 24) >> 1); size >= 1 && runs < MAX_SHRINK_RUNS; size = size === 1 ? 0 : size >> 1) {
    for (let at = 24; at < input.length && runs < MAX_SHRINK_RUNS; ) {
      const candidate = Buffer.concat([input.subarray(0, at), input.subarray(at + size)]);
      if (await fails(candidate)) input = candidate;
      else at += size;
    }
  }
  return input;
}
