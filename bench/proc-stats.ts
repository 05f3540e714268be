// CPU time and memory of a process tree from /proc: the proxy's own process plus its children
// (nginx workers, Legate's cluster workers).
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

interface StatLine {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited between listing and reading
  }
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return { ppid: Number(fields[1]), ticks: utime + stime + cutime + cstime };
}

/** The roots and all their descendants that are alive now. */
function processTree(roots: readonly number[]): number[] {
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
