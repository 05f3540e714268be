// Network namespaces for e2e tests: each test makes its own, wires them with veth pairs (no route
// out of them) and deletes them in teardown, which also removes their links and rules.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const tsNode = process.execPath;

/** Why network-namespace tests cannot run here, or false when they can. */
export function netnsSkipReason(commands: readonly string[] = []): string | false {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  for (const command of ['ip', ...commands]) {
    const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
    if (found.status !== 0) {
      return `needs ${command} (apt-get install ${command === 'ip' ? 'iproute2' : 'iptables'})`;
    }
  }
  const probe = `legate-probe-${randomBytes(4).toString('hex')}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.status !== 0) return `cannot create a network namespace: ${added.stderr.trim()}`;
  spawnSync('ip', ['netns', 'delete', probe]);
  return false;
}

/** Runs a command to completion; rejects with its stderr on a non-zero exit. */
export function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A child that exits without reading its input is judged by its exit status, not by EPIPE.
    child.stdin?.on('error', () => {}).end(input);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

export class Netns {
  readonly name: string;
  readonly #children = new Set<ChildProcess>();

  constructor(name: string) {
    this.name = name;
  }

  /** Runs a command inside the namespace to completion. */
  exec(command: string, args: readonly string[], input?: string): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, command, ...args], input);
  }

  /** Runs a TypeScript file with this Node inside the namespace. */
  node(file: string, args: readonly string[]): Promise<string> {
    return this.exec(tsNode, [file, ...args]);
  }

  /**
   * Starts a long-running TypeScript file inside the namespace and resolves with its first stdout
   * line (its "ready" message). It is killed in teardown, and must exit when its stdin closes.
   */
  async start(file: string, args: readonly string[]): Promise<{ child: ChildProcess; line: string }> {
    // stdin stays open: the child exits when it closes, so it never outlives the test process.
    const child = spawn('ip', ['netns', 'exec', this.name, tsNode, file, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#children.add(child);
    child.on('exit', () => this.#children.delete(child));
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const lines = createInterface({ input: child.stdout! });
    const line = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${file} exited ${code} before it was ready: ${stderr.trim()}`)));
    });
    return { child, line };
  }

  /** Kills what start() started and deletes the namespace. */
  async destroy(): Promise<void> {
    await Promise.all(
      [...this.#children].map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    await run('ip', ['netns', 'delete', this.name]);
  }
}

// Namespaces not yet destroyed; deleted on exit if teardown never ran (the runner's timeout).
const live = new Set<string>();
process.once('exit', () => {
  for (const name of live) spawnSync('ip', ['netns', 'delete', name]);
});

// A test process killed outright (SIGKILL) runs no handler: its namespaces carry its pid, and the
// next test deletes those whose process is gone.
async function deleteOrphans(): Promise<void> {
  for (const [, name, pid] of (await run('ip', ['netns', 'list'])).matchAll(/^(legate-t-(\d+)-\w+)/gm)) {
    if (!isAlive(Number(pid))) await run('ip', ['netns', 'delete', name]);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A fresh namespace with lo up, deleted in teardown even when the test fails. */
export async function createNetns(t: Teardown): Promise<Netns> {
  await deleteOrphans();
  const ns = new Netns(`legate-t-${process.pid}-${randomBytes(4).toString('hex')}`);
  await run('ip', ['netns', 'add', ns.name]);
  live.add(ns.name);
  t.teardown(async () => {
    await ns.destroy();
    live.delete(ns.name);
  });
  await ns.exec('ip', ['link', 'set', 'lo', 'up']);
  return ns;
}

export interface VethEnd {
  readonly ns: Netns;
  /** Addresses with prefix, e.g. 10.233.0.1/30, fd00:1e9a::1/64. */
  readonly addresses: readonly string[];
}

/**
 * Links two namespaces with a veth pair and assigns the addresses: the only routes are the
 * connected ones between the two ends, so nothing can leave them.
 */
export async function linkNetns(a: VethEnd, b: VethEnd): Promise<void> {
  await a.ns.exec('ip', ['link', 'add', 'veth-a', 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', b.ns.name]);
  for (const [end, device] of [[a, 'veth-a'], [b, 'veth-b']] as const) {
    for (const address of end.addresses) {
      // nodad: an IPv6 address is usable at once instead of after duplicate address detection.
      await end.ns.exec('ip', ['address', 'add', address, 'dev', device, ...(address.includes(':') ? ['nodad'] : [])]);
    }
    await end.ns.exec('ip', ['link', 'set', device, 'up']);
  }
}
