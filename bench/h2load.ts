// h2load (Debian's nghttp2-client) as the load generator of the HTTP/2 scenarios: the run itself
// and the parsing of what it prints. One thread, -c connections, H2_STREAMS_PER_CONNECTION streams
// in flight on each; an http:// URL makes it speak h2c with prior knowledge, an https:// one h2
// by ALPN (it does not verify the certificate). One run warms up (--warm-up-time) then measures
// (--duration) over the same connections: h2load sets its connections up during the warm-up, and
// one set up only after the measured window closed would never be stopped (h2load 1.52 then runs
// on forever; seen with Legate's slower TLS handshakes and a 0.5 s run). The proxy's CPU window
// opens and closes on the lines h2load prints as its measured window starts and ends. Counts come
// from its summary lines, which cover the measured window only; latency percentiles from its
// per-request log (--log-file), as it prints only min, max and mean.
import { spawn } from 'node:child_process';
import type { LatencyMs, LoadResult } from './loadgen.ts';
import type { ProcSample } from './proc-stats.ts';
import { H2_STREAMS_PER_CONNECTION } from './scenarios.ts';

export interface H2loadSummary {
  /** The run's length as h2load measured it. */
  seconds: number;
  /** Requests h2load finished: succeeded (any status) + failed. */
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** Bytes received, headers (decompressed, as h2load counts them) included. */
  bytes: number;
  /** The application protocol h2load says it negotiated, h2 or h2c. */
  protocol: string;
}

export const H2LOAD_MAIN_STARTED = 'Main benchmark duration is started';
export const H2LOAD_MAIN_OVER = 'Main benchmark duration is over';

export function h2loadArgs(url: string, connections: number, warmupSeconds: number, seconds: number, logFile: string): string[] {
  return [
    '--threads', '1',
    '--clients', String(connections),
    '--max-concurrent-streams', String(H2_STREAMS_PER_CONNECTION),
    '--warm-up-time', `${Math.round(warmupSeconds * 1000)}ms`,
    '--duration', `${Math.round(seconds * 1000)}ms`,
    '--log-file', logFile,
    url,
  ];
}

function match(output: string, pattern: RegExp, what: string): RegExpMatchArray {
  const found = output.match(pattern);
  if (!found) throw new Error(`h2load printed no ${what} line: ${output.trim().split('\n').slice(-5).join(' | ') || '(nothing)'}`);
  return found;
}

export function parseH2loadOutput(output: string): H2loadSummary {
  // "finished in 3.00s, 24321.33 req/s, 1.95MB/s"; req/s is succeeded over the main duration.
  const finished = match(output, /^finished in ([\d.]+)(m?s), ([\d.]+) req\/s/m, 'finished');
  const requests = match(
    output,
    /^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m,
    'requests',
  );
  const status = match(output, /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m, 'status codes');
  const traffic = match(output, /^traffic: \S+ \((\d+)\) total/m, 'traffic');
  const n = (value: string) => Number(value);
  const succeeded = n(requests[4]);
  const rps = n(finished[3]);
  const printedSeconds = n(finished[1]) / (finished[2] === 'ms' ? 1000 : 1);
  const summary: H2loadSummary = {
    // The exact duration h2load divided by: "finished in" is rounded to 10 ms.
    seconds: succeeded > 0 && rps > 0 ? succeeded / rps : printedSeconds,
    done: n(requests[3]),
    succeeded,
    failed: n(requests[5]),
    errored: n(requests[6]),
    timeout: n(requests[7]),
    status: { '2xx': n(status[1]), '3xx': n(status[2]), '4xx': n(status[3]), '5xx': n(status[4]) },
    bytes: n(traffic[1]),
    protocol: output.match(/^Application protocol: (\S+)/m)?.[1] ?? 'none',
  };
  if (!(summary.seconds > 0)) throw new Error(`h2load output: a run of ${summary.seconds} s`);
  return summary;
}

/**
 * A run with any failed, errored or timed-out request or any status but 2xx is an error, not a
 * figure: h2load does not reconnect, so a connection the proxy closed (GOAWAY after N requests,
 * say) would otherwise just lower the rate.
 */
export function checkH2loadSummary(summary: H2loadSummary, expectedProtocol: string): void {
  const { status } = summary;
  const problems = [
    summary.failed > 0 ? `${summary.failed} failed` : '',
    summary.errored > 0 ? `${summary.errored} errored` : '',
    summary.timeout > 0 ? `${summary.timeout} timed out` : '',
    status['3xx'] + status['4xx'] + status['5xx'] > 0 ? `status codes ${status['3xx']} 3xx, ${status['4xx']} 4xx, ${status['5xx']} 5xx` : '',
    summary.done === 0 ? 'no request done' : '',
    summary.protocol !== expectedProtocol ? `protocol ${summary.protocol}, expected ${expectedProtocol}` : '',
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`h2load: ${problems.join(', ')} (of ${summary.done} done, ${summary.succeeded} succeeded)`);
}

function percentile(sorted: Float64Array, p: number): number {
  // The nearest rank, in whole numbers: 99.9 / 100 * 1000 is not 999 in floating point.
  const rank = Math.ceil((Math.round(p * 1000) * sorted.length) / 100_000);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Latency percentiles (ms) from h2load's --log-file: start us, status, microseconds to the response's end. */
export function latencyFromLog(log: string): LatencyMs | undefined {
  const lines = log.split('\n').filter(Boolean);
  if (lines.length === 0) return undefined;
  const us = new Float64Array(lines.length);
  lines.forEach((line, i) => {
    const value = Number(line.split('\t')[2]);
    if (!Number.isFinite(value)) throw new Error(`h2load log: not a latency: ${line}`);
    us[i] = value;
  });
  us.sort();
  const ms = (value: number) => value / 1000;
  return {
    p50: ms(percentile(us, 50)),
    p90: ms(percentile(us, 90)),
    p99: ms(percentile(us, 99)),
    p999: ms(percentile(us, 99.9)),
    max: ms(us[us.length - 1]),
    mean: ms(us.reduce((a, b) => a + b, 0) / us.length),
  };
}

export function h2loadResult(summary: H2loadSummary, latencyMs: LatencyMs | undefined, proc: ProcSample | undefined): LoadResult {
  const statusCounts: Record<string, number> = {};
  for (const [klass, count] of Object.entries(summary.status)) if (count > 0) statusCounts[klass] = count;
  return {
    type: 'result',
    generator: 'h2load',
    seconds: summary.seconds,
    requests: summary.done,
    // Succeeded, not the 2xx count: that also counts responses whose headers came in before the run
    // stopped and whose end did not; checkH2loadSummary has made sure no other status came back.
    ok: summary.succeeded,
    bytes: summary.bytes,
    statusCounts,
    // Failed requests (errored and timed out included) are in done, so in requests - ok already.
    errors: 0,
    ...(latencyMs ? { latencyMs } : {}),
    proc,
  };
}

export interface H2loadRun {
  binary: string;
  url: string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  logFile: string;
  /** Called as the measured window opens, then as it closes (from h2load's progress lines). */
  onMainStarted(): void;
  onMainOver(): void;
}

/** Run h2load (warm-up, then `seconds` measured) and parse its summary. Inherits this process's CPU affinity. */
export function runH2load(run: H2loadRun): Promise<H2loadSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(run.binary, h2loadArgs(run.url, run.connections, run.warmupSeconds, run.seconds, run.logFile), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let phase: 'warm-up' | 'main' | 'over' = 'warm-up';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      if (phase === 'warm-up' && output.includes(H2LOAD_MAIN_STARTED)) {
        phase = 'main';
        run.onMainStarted();
      }
      if (phase === 'main' && output.includes(H2LOAD_MAIN_OVER)) {
        phase = 'over';
        run.onMainOver();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const limit = run.warmupSeconds + run.seconds + 20;
    let killed = false;
    const backstop = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limit * 1000);
    child.on('error', (error) => {
      clearTimeout(backstop);
      reject(new Error(`h2load could not start: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(backstop);
      const tail = (lines: number) => output.trim().split('\n').slice(-lines).join(' | ');
      if (killed) {
        reject(new Error(`h2load still running ${limit} s after it started (a connection set up after the measured window?), killed: ${tail(3)}`));
        return;
      }
      if (code !== 0) {
        reject(new Error(`h2load exited with ${signal ?? `code ${code}`}: ${tail(5)}`));
        return;
      }
      if (phase !== 'over') {
        reject(new Error(`h2load never printed "${phase === 'warm-up' ? H2LOAD_MAIN_STARTED : H2LOAD_MAIN_OVER}": ${tail(5)}`));
        return;
      }
      try {
        resolve(parseH2loadOutput(output));
      } catch (error) {
        reject(error);
      }
    });
  });
}
