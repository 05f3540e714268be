// CPU layout shared by every target: the load generator and the upstream on the first CPU we may
// use, the proxy on the rest, so a proxy never competes with the load it is measured under.
import { spawnSync } from 'node:child_process';

export interface Pinning {
  /** CPU list for taskset -c, or undefined when not pinning. */
  load?: string;
  upstream?: string;
  proxy?: string;
  description: string;
}

function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    const [from, to] = part.split('-').map(Number);
    for (let cpu = from; cpu <= (to ?? from); cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The CPUs this process may run on, read through taskset; undefined if taskset is missing. */
function allowedCpus(): number[] | undefined {
  const result = spawnSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  const list = result.stdout.split(':').pop();
  return list ? parseCpuList(list) : undefined;
}

export function planPinning(enabled: boolean): Pinning {
  if (!enabled) return { description: 'not pinned (--no-pin)' };
  const cpus = allowedCpus();
  if (!cpus) return { description: 'not pinned (taskset not found)' };
  if (cpus.length < 2) return { description: 'not pinned (only one CPU)' };
  const [first, ...rest] = cpus;
  const proxy = rest.join(',');
  return {
    load: String(first),
    upstream: String(first),
    proxy,
    description: `load generator + upstream on CPU ${first}, proxy on CPU ${proxy} (taskset)`,
  };
}
