// Helpers for the mesh e2e test: a bridge in a "router" namespace that "container" namespaces
// join with veth pairs (one closed L2 segment: no namespace has a route out), Legate processes
// started inside namespaces, and reads of their admin /stats.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const CLI = fileURLToPath(new URL('../../proxy/cli.ts', import.meta.url));
const BRIDGE = 'br-mesh';

/** A bridge in the router namespace, holding the router's own address (e.g. 10.240.0.1/24). */
export async function createBridge(router: Netns, address: string): Promise<void> {
  await router.exec('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await router.exec('ip', ['address', 'add', address, 'dev', BRIDGE]);
  await router.exec('ip', ['link', 'set', BRIDGE, 'up']);
}

/** Joins a namespace to the router's bridge as eth0 with the given address (e.g. 10.240.0.2/24). */
export async function joinBridge(router: Netns, ns: Netns, port: string, address: string): Promise<void> {
  await router.exec('ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
  await router.exec('ip', ['link', 'set', port, 'master', BRIDGE, 'up']);
  await ns.exec('ip', ['address', 'add', address, 'dev', 'eth0']);
  await ns.exec('ip', ['link', 'set', 'eth0', 'up']);
}

export interface LegateInNetns {
  /** The bound port of a listener by name. */
  port(listener: string): number;
  readonly log: string[];
}

/**
 * Runs `legate run -c <bootstrap> --workers 1 ...args` inside the namespace (as root) and resolves
 * once it serves; killed in teardown even when the test fails.
 */
export async function startLegate(t: Teardown, ns: Netns, bootstrap: object, args: readonly string[]): Promise<LegateInNetns> {
  const dir = mkdtempSync(join(tmpdir(), 'legate-mesh-'));
  const config = join(dir, 'bootstrap.json');
  writeFileSync(config, JSON.stringify(bootstrap));
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, CLI, 'run', '-c', config, '--workers', '1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const log: string[] = [];
  const ports = new Map<string, number>();
  const lines = createInterface({ input: child.stderr! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`legate in ${ns.name} did not serve within 60 s:\n${log.join('\n')}`)), 60_000);
    lines.on('line', (line) => {
      log.push(line);
      const listener = /^legate: listener '([^']+)' on .*:(\d+)$/.exec(line);
      if (listener !== null) ports.set(listener[1], Number(listener[2]));
      if (line.startsWith('legate: serving with')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`legate in ${ns.name} exited before serving:\n${log.join('\n')}`));
    });
  });
  return {
    log,
    port: (name) => {
      const port = ports.get(name);
      if (port === undefined) throw new Error(`no listener '${name}' in:\n${log.join('\n')}`);
      return port;
    },
  };
}

/** GET with curl inside the namespace; the body parsed as JSON. */
export async function getJson<T>(ns: Netns, url: string): Promise<T> {
  return JSON.parse(await ns.exec('curl', ['-sS', '--max-time', '30', url])) as T;
}

/** The counters and gauges of the admin server at 127.0.0.1:15000 in the namespace, by name. */
export async function adminStats(ns: Netns): Promise<Map<string, number>> {
  const text = await ns.exec('curl', ['-sS', '--max-time', '10', 'http://127.0.0.1:15000/stats']);
  const stats = new Map<string, number>();
  for (const [, name, value] of text.matchAll(/^([^:\s]+): (\d+)$/gm)) stats.set(name, Number(value));
  return stats;
}
