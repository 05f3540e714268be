// Runs `legate run` as a child process (node proxy/cli.ts run -c FILE), for tests that need a
// separate process: several workers, its memory, its exit code, its signals. Listeners and admin
// may bind port 0: the bound ports are read back from the lines `legate run` prints on stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../proxy/cli.ts', import.meta.url));
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/legate.js', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliResult extends Exit {
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (SIGKILL after timeoutMs) and collects its output. */
export function runCli(args: readonly string[], timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.LEGATE_DEBUG; // errors must be one line, as a user sees them
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface LegateProcess {
  child: ChildProcess;
  configPath: string;
  /** The bound port of a listener by name (the first listener when no name is given). */
  port(listener?: string): number;
  url(path: string, listener?: string): string;
  adminUrl(path: string): string;
  /** What it printed on stderr so far (its log), by line. */
  readonly stderrLines: string[];
  /** What it printed on stdout so far (stdout access logs). */
  stdout(): string;
  /** Replaces the config file (then send SIGHUP to reload). */
  rewriteConfig(bootstrap: object): void;
  /** Resident set size of the process now, from /proc/PID/status (Linux). */
  rssBytes(): number;
  readonly exited: Promise<Exit>;
  /** Sends a signal (SIGTERM by default) and resolves once it exited; SIGKILL after timeoutMs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

/**
 * Writes the bootstrap to a temporary file and runs `legate run` on it (one worker unless args
 * say --workers); resolves once it prints that it is serving.
 */
export async function spawnLegate(bootstrap: object, args: readonly string[] = [], options: { entry?: 'cli' | 'bin'; env?: NodeJS.ProcessEnv } = {}): Promise<LegateProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'legate-proc-'));
  const configPath = join(dir, 'bootstrap.json');
  writeFileSync(configPath, JSON.stringify(bootstrap));
  const workers = args.includes('--workers') ? [] : ['--workers', '1'];
  // bin/legate.js is the installed command: it turns the compile cache on before proxy/cli.ts loads.
  const entry = options.entry === 'bin' ? BIN : CLI;
  const child = spawn(process.execPath, [entry, 'run', '-c', configPath, ...workers, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: options.env });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => rmSync(dir, { recursive: true, force: true }));
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const stderrLines: string[] = [];
  const lines = createInterface({ input: child.stderr! });
  lines.on('line', (line) => stderrLines.push(line));
  const ports = new Map<string, number>();
  let admin = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`legate run did not start within 20 s:\n${stderrLines.join('\n')}`)), 20_000);
      lines.on('line', (line) => {
        const listener = /^legate: listener '([^']+)' on .*:(\d+)$/.exec(line);
        if (listener !== null) ports.set(listener[1], Number(listener[2]));
        const adminLine = /^legate: admin on (http:\/\/\S+?)\/?$/.exec(line);
        if (adminLine !== null) admin = adminLine[1];
        if (line.startsWith('legate: serving with')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`legate run exited (${signal ?? code}) before serving:\n${stderrLines.join('\n')}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  const port = (name?: string) => {
    const found = name === undefined ? ports.values().next().value : ports.get(name);
    if (found === undefined) throw new Error(`no listener ${name ?? ''} in:\n${stderrLines.join('\n')}`);
    return found;
  };
  return {
    child,
    configPath,
    port,
    url: (path, listener) => `http://127.0.0.1:${port(listener)}${path}`,
    adminUrl: (path) => `${admin}${path}`,
    stderrLines,
    stdout: () => stdout,
    rewriteConfig: (next) => writeFileSync(configPath, JSON.stringify(next)),
    rssBytes: () => {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return kb === null ? 0 : Number(kb[1]) * 1024;
    },
    exited,
    stop: async (signal = 'SIGTERM', timeoutMs = 10_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}
