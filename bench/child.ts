// Processes the bench starts: pinned with taskset, each the leader of its own process group so
// stopping it also stops its workers, and all of them killed when the bench exits, also on error
// or Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

export interface ChildOptions {
  /** CPU list for taskset -c. */
  cpus?: string;
  /** Open an IPC channel (Node programs). */
  ipc?: boolean;
  cwd?: string;
}

const OUTPUT_TAIL = 4096;
const live = new Set<Child>();
let exitHookInstalled = false;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

export class Child {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<void>;
  #process: ChildProcess;
  #output = '';
  #exitDescription: string | undefined;
  #inbox: ChildMessage[] = [];
  #waiters = new Set<() => void>();

  constructor(name: string, command: string, args: readonly string[], options: ChildOptions = {}) {
    this.name = name;
    const argv = options.cpus ? ['taskset', '-c', options.cpus, command, ...args] : [command, ...args];
    this.#process = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? ['ipc' as const] : [])],
    });
    if (this.#process.pid === undefined) {
      this.#process.on('error', () => {}); // reported by the throw below
      throw new Error(`${name}: could not start ${argv[0]}`);
    }
    this.pid = this.#process.pid;
    live.add(this);
    installExitHook();
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString()).slice(-OUTPUT_TAIL);
    };
    this.#process.stdout?.on('data', keep);
    this.#process.stderr?.on('data', keep);
    this.#process.on('message', (message: ChildMessage) => {
      this.#inbox.push(message);
      this.#wake();
    });
    this.exited = new Promise((resolve) => {
      this.#process.once('error', (error) => {
        this.#exitDescription = error.message;
        live.delete(this);
        this.#wake();
        resolve();
      });
      this.#process.once('exit', (code, signal) => {
        this.#exitDescription = `exited with ${signal ?? `code ${code}`}`;
        live.delete(this);
        // Workers may outlive their leader for a moment: take the whole group down with it.
        signalGroup(this.pid, 'SIGKILL');
        this.#wake();
        resolve();
      });
    });
  }

  get hasExited(): boolean {
    return this.#exitDescription !== undefined;
  }

  /** Why the child is gone, with the tail of what it printed. */
  describeExit(): string {
    const tail = this.#output.trim().split('\n').slice(-5).join(' | ');
    return `${this.name} ${this.#exitDescription ?? 'is running'}${tail ? `: ${tail}` : ''}`;
  }

  #wake(): void {
    for (const waiter of this.#waiters) waiter();
  }

  send(message: ChildMessage): void {
    this.#process.send?.(message);
  }

  /** The next IPC message of this type; rejects if the child exits first or time runs out. */
  message<T extends { type: string }>(type: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.#inbox.findIndex((m) => m.type === type);
        if (index >= 0) {
          done();
          resolve(this.#inbox.splice(index, 1)[0] as T);
        } else if (this.hasExited) {
          done();
          reject(new Error(this.describeExit()));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no '${type}' message within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** SIGTERM to the group, SIGKILL if it has not exited within the grace time. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.hasExited) return;
    signalGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) signalGroup(child.pid, 'SIGKILL');
  });
}

/** Poll until check() is true; fails early with the child's last words if it exits. */
export async function waitFor(child: Child, what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.hasExited) throw new Error(child.describeExit());
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${child.name}: ${what} not ready within ${timeoutMs} ms`);
}

/** Awaits `ready` for a child just started; if it fails, the child is stopped first, so none is left behind. */
export async function stopOnFailure<T>(child: Child, ready: () => Promise<T>): Promise<T> {
  try {
    return await ready();
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** Start one of bench's Node programs; it gets its config as JSON in argv and reports 'ready'. */
export async function startNodeProgram<T extends { type: string }>(
  name: string,
  file: string,
  config: unknown,
  cpus: string | undefined,
): Promise<{ child: Child; ready: T }> {
  const child = new Child(name, process.execPath, [file, JSON.stringify(config)], { cpus, ipc: true });
  return { child, ready: await stopOnFailure(child, () => child.message<T>('ready', 15_000)) };
}
