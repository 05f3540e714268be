// What every fuzzer reports: counts, and each failure with what it takes to reproduce it.

export interface Failure {
  /** crash, unresponsive, ambiguous-forwarded, count-or-order, ... */
  kind: string;
  detail: string;
  caseIndex: number;
  /** The input as generated, in hex (or text for configs). */
  input: string;
  /** A smaller input that fails the same way, when the fuzzer could shrink it. */
  minimal?: string;
}

export interface FuzzReport {
  fuzzer: 'http1' | 'bootstrap' | 'http2';
  seed: number;
  seconds: number;
  inputs: number;
  crashes: number;
  /** Inputs (or requests) Legate refused: 4xx answers, config errors, resets. */
  rejections: number;
  /** Requests that reached the upstream, or configs accepted. */
  forwarded: number;
  failures: Failure[];
  /** Fuzzer-specific figures (e.g. hangs, resets). */
  extra: Record<string, number>;
}

export function emptyReport(fuzzer: FuzzReport['fuzzer'], seed: number): FuzzReport {
  return { fuzzer, seed, seconds: 0, inputs: 0, crashes: 0, rejections: 0, forwarded: 0, failures: [], extra: {} };
}

const SHOWN = 4096;

export function formatReport(report: FuzzReport): string {
  const extra = Object.entries(report.extra).map(([k, v]) => `, ${k} ${v}`).join('');
  const lines = [
    `${report.fuzzer}: seed ${report.seed}, ${report.seconds.toFixed(0)} s: inputs ${report.inputs}, crashes ${report.crashes}, rejections ${report.rejections}, forwarded ${report.forwarded}${extra}, failures ${report.failures.length}`,
  ];
  for (const f of report.failures) {
    lines.push(`  FAIL ${f.kind} (seed ${report.seed}, case ${f.caseIndex}): ${f.detail}`);
    lines.push(`    replay: npm run fuzz -- --only ${report.fuzzer} --seed ${report.seed} --case ${f.caseIndex}`);
    lines.push(`    input: ${clip(f.input)}`);
    if (f.minimal !== undefined) lines.push(`    minimal: ${clip(f.minimal)}`);
  }
  return lines.join('\n');
}

function clip(text: string): string {
  return text.length <= SHOWN ? text : `${text.slice(0, SHOWN)}... (${text.length} chars)`;
}
