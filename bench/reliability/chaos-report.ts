// The chaos run's verdict, pure: every request outcome is attributed to the fault that was active
// when it ended (or, failing that, when it was sent), counted per fault by status, response flag
// and connection error, and judged against the target: no failed request anywhere, except on the
// client connections of a killed worker (at most one per connection: the one in flight).
import type { LoggedRequest } from './access-log.ts';
import type { Outcome } from './traffic.ts';

export interface FaultWindow {
  name: string;
  start: number;
  end: number;
  /** What happened, for the table (e.g. "worker 1234 replaced in 180 ms"). */
  note: string;
}

/** A request that ended this long after a fault's end still belongs to it. */
export const GRACE_MS = 1000;
export const NO_FAULT = '(no fault)';
/** Faults whose failures are allowed on the connections they cut. */
export const CONNECTION_FAULTS = new Set(['worker-kill']);

export interface ChaosRow {
  fault: string;
  note: string;
  sent: number;
  ok: number;
  /** Requests the proxy logged with more than one upstream attempt. */
  retried: number;
  /** "503 UF" -> count: a status with the flags the proxy logged for it. */
  nonOk: Record<string, number>;
  /** Error code (ECONNRESET, ...) -> count: no complete answer. */
  connectionErrors: Record<string, number>;
  failed: number;
  /** Most failures on one client connection. */
  worstConnection: number;
}

export interface ChaosVerdict {
  rows: ChaosRow[];
  pass: boolean;
  reasons: string[];
  failures: (Outcome & { fault: string; logged?: LoggedRequest })[];
}

function within(at: number, w: FaultWindow): boolean {
  return at >= w.start && at <= w.end + GRACE_MS;
}

export function attribute(outcome: Outcome, windows: readonly FaultWindow[]): string {
  return (windows.find((w) => within(outcome.endAt, w)) ?? windows.find((w) => within(outcome.sentAt, w)))?.name ?? NO_FAULT;
}

export function failedOutcome(o: Outcome): boolean {
  return o.error !== undefined || o.status === undefined || (o.status < 200 || o.status > 299) && o.status !== 101;
}

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

export function judge(outcomes: readonly Outcome[], windows: readonly FaultWindow[], log: ReadonlyMap<string, LoggedRequest>): ChaosVerdict {
  const rows = new Map<string, ChaosRow>();
  const perConnection = new Map<string, Map<string, number>>();
  const row = (fault: string): ChaosRow => {
    let r = rows.get(fault);
    if (r === undefined) {
      r = { fault, note: windows.find((w) => w.name === fault)?.note ?? '', sent: 0, ok: 0, retried: 0, nonOk: {}, connectionErrors: {}, failed: 0, worstConnection: 0 };
      rows.set(fault, r);
    }
    return r;
  };
  row(NO_FAULT);
  for (const w of windows) row(w.name);
  const failures: ChaosVerdict['failures'] = [];
  for (const o of outcomes) {
    const fault = attribute(o, windows);
    const r = row(fault);
    r.sent++;
    const logged = log.get(o.id);
    if ((logged?.attempts ?? 0) > 1) r.retried++;
    if (!failedOutcome(o)) {
      r.ok++;
      continue;
    }
    r.failed++;
    if (o.status !== undefined && o.status > 0 && o.error === undefined) bump(r.nonOk, `${o.status} ${logged?.flags ?? '(not logged)'}`);
    else bump(r.connectionErrors, o.error ?? 'no answer');
    const connections = perConnection.get(fault) ?? new Map<string, number>();
    perConnection.set(fault, connections);
    const key = `${o.target}/${o.loop}`;
    connections.set(key, (connections.get(key) ?? 0) + 1);
    r.worstConnection = Math.max(r.worstConnection, connections.get(key)!);
    failures.push({ ...o, fault, ...(logged ? { logged } : {}) });
  }
  const reasons: string[] = [];
  for (const r of rows.values()) {
    if (r.failed === 0) continue;
    if (CONNECTION_FAULTS.has(r.fault)) {
      if (Object.keys(r.nonOk).length > 0) reasons.push(`${r.fault}: ${Object.values(r.nonOk).reduce((a, b) => a + b, 0)} error responses (only cut connections are allowed)`);
      if (r.worstConnection > 1) reasons.push(`${r.fault}: ${r.worstConnection} failures on one connection (at most the one in flight is allowed)`);
    } else {
      reasons.push(`${r.fault}: ${r.failed} failed request${r.failed === 1 ? '' : 's'}`);
    }
  }
  return { rows: [...rows.values()], pass: reasons.length === 0, reasons, failures };
}

function describe(record: Record<string, number>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? '0' : entries.map(([k, n]) => `${k}: ${n}`).join(', ');
}

/** The table as Markdown. */
export function formatChaosTable(verdict: ChaosVerdict): string {
  const lines = [
    '| fault | what happened | sent | 2xx | retried by the proxy | non-2xx (code flags: n) | connection errors | verdict |',
    '|---|---|--:|--:|--:|---|---|---|',
  ];
  for (const r of verdict.rows) {
    const allowed = CONNECTION_FAULTS.has(r.fault) && Object.keys(r.nonOk).length === 0 && r.worstConnection <= 1;
    const mark = r.failed === 0 ? 'ok' : allowed ? `ok (${r.failed} in flight on cut connections)` : 'FAIL';
    lines.push(`| ${r.fault} | ${r.note} | ${r.sent} | ${r.ok} | ${r.retried} | ${describe(r.nonOk)} | ${describe(r.connectionErrors)} | ${mark} |`);
  }
  const total = verdict.rows.reduce((acc, r) => ({ sent: acc.sent + r.sent, ok: acc.ok + r.ok, retried: acc.retried + r.retried, failed: acc.failed + r.failed }), { sent: 0, ok: 0, retried: 0, failed: 0 });
  lines.push(`| **total** | | ${total.sent} | ${total.ok} | ${total.retried} | | ${total.failed} failed | ${verdict.pass ? '**pass**' : '**FAIL**'} |`);
  return lines.join('\n');
}
