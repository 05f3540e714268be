// Measures the resident memory of `legate run` on the demo config: idle (start-up + 5 s) and under
// a short load, for the primary and each child process (workers and the warm spare).
//   node proxy/server/measure-rss.ts [--workers 1,2] [--idle-s 5] [--load-s 10] [--connections 50] [--settle-s 10]
//     [--node-flags=--max-semi-space-size=1]   (V8/Node flags for legate; workers inherit them)
// Load comes from wrk if it is installed, else autocannon. The figures go in README.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const CLI = fileURLToPath(new URL('../../bin/legate.js', import.meta.url));
const DEMO = fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url));

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2' },
    'idle-s': { type: 'string', default: '5' },
    'load-s': { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    'settle-s': { type: 'string', default: '10' },
    'node-flags': { type: 'string', default: '' },
  },
});

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

/** A small upstream like the demo's apps: a JSON line naming it. */
function startApp(name: string): Promise<{ port: number; close(): void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ app: name, path: req.url }) + '\n'));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ port: typeof address === 'object' && address !== null ? address.port : 0, close: () => (server.closeAllConnections(), server.close()) });
    });
  });
}

function rssKb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line === undefined ? 0 : Number(line.split(/\s+/)[1]);
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // it exited
  }
  for (const task of tasks) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Primary first, then its children (workers and the spare) by pid. */
function sample(primary: number): Map<number, number> {
  const m = new Map<number, number>([[primary, rssKb(primary)]]);
  for (const c of childrenOf(primary).sort((a, b) => a - b)) m.set(c, rssKb(c));
  return m;
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string[]> {
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
    let buffer = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        if (pattern.test(l)) {
          clearTimeout(timer);
          resolve(lines);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`legate exited (${code}):\n${lines.join('\n')}`)));
  });
}

function load(url: string, seconds: number, connections: number): Promise<string> {
  const wrk = spawnSync('wrk', ['--version']).error === undefined;
  const [cmd, args] = wrk
    ? ['wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url]]
    : [fileURLToPath(new URL('../../node_modules/.bin/autocannon', import.meta.url)), ['-c', String(connections), '-d', String(seconds), url]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', () => {
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? /(\d+[\d.]*k?) requests in/.exec(out)?.[1] ?? '?';
      resolve(`${wrk ? 'wrk' : 'autocannon'} ${connections} connections ${seconds} s: ${rps} req/s`);
    });
  });
}

function table(title: string, samples: Map<number, number>, primary: number): string {
  const rows = [...samples].map(([pid, kb]) => `  ${pid === primary ? 'primary' : `child ${pid}`}: ${mb(kb)}`);
  const total = [...samples.values()].reduce((a, b) => a + b, 0);
  return `${title} (total ${mb(total)})\n${rows.join('\n')}`;
}

async function measure(workers: number): Promise<void> {
  const blue = await startApp('blue');
  const green = await startApp('green');
  const dir = mkdtempSync(join(tmpdir(), 'legate-rss-'));
  const config = join(dir, 'demo.yaml');
  writeFileSync(
    config,
    readFileSync(DEMO, 'utf8')
      .replace('port_value: 9901', 'port_value: 0')
      .replace('port_value: 10000', 'port_value: 0')
      .replace('port_value: 18081', `port_value: ${blue.port}`)
      .replace('port_value: 18082', `port_value: ${green.port}`),
  );
  const flags = values['node-flags'].split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, CLI, 'run', '-c', config, '--workers', String(workers), '--drain-time-s', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const lines = await waitForLine(child, /serving with/, 30_000);
    const port = Number(/listener 'ingress' on [^ ]+:(\d+)/.exec(lines.join('\n'))?.[1]);
    const pid = child.pid!;
    await new Promise((r) => setTimeout(r, Number(values['idle-s']) * 1000));
    console.log(`\n--workers ${workers}`);
    console.log(table(`idle after start-up + ${values['idle-s']} s`, sample(pid), pid));
    const peak = new Map<number, number>();
    const timer = setInterval(() => {
      for (const [p, kb] of sample(pid)) peak.set(p, Math.max(peak.get(p) ?? 0, kb));
    }, 250);
    const result = await load(`http://127.0.0.1:${port}/`, Number(values['load-s']), Number(values.connections));
    clearInterval(timer);
    console.log(table(`peak under load (${result})`, peak, pid));
    await new Promise((r) => setTimeout(r, Number(values['settle-s']) * 1000));
    console.log(table(`${values['settle-s']} s after the load`, sample(pid), pid));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    blue.close();
    green.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const w of values.workers.split(',')) await measure(Number(w));
