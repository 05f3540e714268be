// CPU time and memory of a process tree from /proc: the proxy's own process plus its children
// (nginx workers, Legate's cluster workers). A window's CPU time is the difference of two samples,
// and its CPU per 1,000 requests that difference over the successful responses.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface ProcSample {
  /** utime + stime of the live processes, plus cutime + cstime of children they reaped. */
  cpuSeconds: number;
  rssBytes: number;
  /** Sum of each process's peak RSS (VmHWM). */
  peakRssBytes: number;
  processes: number;
}

const clockTicks = (() => {
  const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(result.stdout);
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
})();

export interface StatLine {
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

/** The parent and CPU ticks from the text of /proc/PID/stat (see proc_pid_stat(5)). */
export function parseStat(text: string): StatLine | undefined {
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields from the 3rd (state): ppid is the 4th, utime..cstime the 14th..17th.
  const fields = text.slice(close + 2).trim().split(' ');
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  const ticks = utime + stime + cutime + cstime;
  if (!Number.isFinite(ticks)) return undefined;
  return { ppid: Number(fields[1]), ticks };
}

function readStat(pid: number): StatLine | undefined {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // exited between listing and reading
  }
}

/** The roots and all their descendants that are alive now. */
export function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(pid);
    children.set(stat.ppid, siblings);
  }
  const tree: number[] = [];
  const queue = roots.filter((pid) => fs.existsSync(`/proc/${pid}`));
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function statusKiB(pid: number, field: string): number {
  try {
    const match = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export function sampleProcesses(roots: readonly number[]): ProcSample {
  const pids = processTree(roots);
  let ticks = 0;
  let rssKiB = 0;
  let peakKiB = 0;
  for (const pid of pids) {
    ticks += readStat(pid)?.ticks ?? 0;
    rssKiB += statusKiB(pid, 'VmRSS');
    peakKiB += statusKiB(pid, 'VmHWM');
  }
  return {
    cpuSeconds: ticks / clockTicks,
    rssBytes: rssKiB * 1024,
    peakRssBytes: peakKiB * 1024,
    processes: pids.length,
  };
}

/** The CPU seconds spent between two samples of the same tree; memory as at the end. */
export function cpuDelta(start: ProcSample, end: ProcSample): ProcSample {
  return { ...end, cpuSeconds: end.cpuSeconds - start.cpuSeconds };
}

/** CPU seconds per 1,000 successful requests; undefined when nothing succeeded. */
export function cpuPer1k(cpuSeconds: number, okRequests: number): number | undefined {
  return okRequests > 0 ? (cpuSeconds / okRequests) * 1000 : undefined;
}
