// Idle memory of `legate run --workers 2` on a static bootstrap (one HTTP listener, one cluster),
// run as users run it (bin/legate.js): the resident size of the primary and of each worker after
// start-up stays under a bound, and there is no spare worker process unless --spare-worker asks.
// The bounds are the figures last measured (primary ~85 MB, each worker ~68 MB, once the idle
// process has run its one start-up collection; see proxy/server/README.md) plus ~30%: a module
// that drags node:http2, node:tls or the TypeScript transpiler back into every process crosses them.
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { request } from 'undici';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { spawnLegate, type LegateProcess } from '../../support/legate-process.ts';
import { startUpstream } from '../../support/upstream.ts';
import { WORKER_SEMI_SPACE_MB } from '../../../proxy/server/v8-flags.ts';

const MB = 1024 * 1024;
// tap's NODE_OPTIONS (--import of its process-info hooks) is left out (tap may still add its hooks
// to the children it sees spawned: a few MB the bounds allow for).
const { NODE_OPTIONS: _tapHooks, ...ENV } = process.env;
const WORKER_BOUND = 88 * MB;
const PRIMARY_BOUND = 112 * MB;

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb === null ? 0 : Number(kb[1]) * 1024;
}

/** The primary's child processes (workers and any spare). */
function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
}

async function workerPids(legate: LegateProcess): Promise<number[]> {
  const info = (await (await request(legate.adminUrl('/server_info'))).body.json()) as { memory: { workers: { pid?: number }[] } };
  return info.memory.workers.map((w) => w.pid ?? 0).filter((p) => p > 0);
}

/**
 * The smallest RSS seen over a bounded poll that stops once every process is under its bound:
 * start-up garbage and a GC running at the moment of one reading do not fail the test, a
 * process that stays above its bound for 3 s does.
 */
async function settledRss(pids: Map<number, number>): Promise<Map<number, number>> {
  const least = new Map<number, number>();
  const deadline = Date.now() + 3000;
  for (let i = 0; i < 30; i++) {
    for (const pid of pids.keys()) least.set(pid, Math.min(least.get(pid) ?? Infinity, rssBytes(pid)));
    if ([...pids].every(([pid, bound]) => least.get(pid)! <= bound) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return least;
}

t.test('idle: the primary and each worker stay under their RSS bounds; no spare by default', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const app = await startUpstream('app');
  t.teardown(() => app.close());
  const listener = httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]));
  const config = bootstrap([listener], [staticCluster('app', [{ port: app.port }])]);
  // The first run after an install (or an edit) strips the TypeScript once, and so loads the
  // transpiler in the primary (~20 MB); it writes Node's compile cache as it exits. Measure the next.
  const warmUp = await spawnLegate(config, ['--workers', '2'], { entry: 'bin', env: ENV });
  await warmUp.stop('SIGTERM');
  const legate = await spawnLegate(config, ['--workers', '2'], { entry: 'bin', env: ENV });
  t.teardown(() => legate.stop('SIGKILL'));
  const primary = legate.child.pid!;
  // Served once through each process type, so the figures are of a proxy that has done its job.
  const res = await request(legate.url('/'));
  await res.body.text();
  t.equal(res.statusCode, 200);
  const workers = await workerPids(legate);
  t.equal(workers.length, 2, 'two workers');
  t.same(childrenOf(primary).sort(), [...workers].sort(), 'no process besides the two workers (no warm spare)');
  // Legate's cap on the workers' young generation (what levels a loaded worker's RSS) is on their command line.
  for (const w of workers) t.ok(readFileSync(`/proc/${w}/cmdline`, 'utf8').split('\0').includes(`--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`), `worker ${w} runs with --max-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
  for (const w of workers) {
    const flags = readFileSync(`/proc/${w}/cmdline`, 'utf8').split('\0');
    t.ok(flags.includes('--no-allocation-site-pretenuring'), `worker ${w} runs without allocation-site pretenuring`);
    t.ok(flags.includes('--invocation-count-for-turbofan=1500'), `worker ${w} tiers up to TurboFan at 1,500 calls`);
  }
  const bounds = new Map([[primary, PRIMARY_BOUND], ...workers.map((w): [number, number] => [w, WORKER_BOUND])]);
  const rss = await settledRss(bounds);
  for (const [pid, bound] of bounds) {
    const role = pid === primary ? 'primary' : `worker ${pid}`;
    t.ok(rss.get(pid)! <= bound, `${role}: ${(rss.get(pid)! / MB).toFixed(1)} MB RSS <= ${bound / MB} MB`);
  }
});

t.test('--spare-worker keeps one more worker process, started and idle', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const app = await startUpstream('app');
  t.teardown(() => app.close());
  const listener = httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'app' } }]));
  const legate = await spawnLegate(bootstrap([listener], [staticCluster('app', [{ port: app.port }])]), ['--workers', '2', '--spare-worker'], { entry: 'bin', env: ENV });
  t.teardown(() => legate.stop('SIGKILL'));
  const workers = await workerPids(legate);
  // The spare is forked with the workers; wait (bounded) for its process to appear.
  let children: number[] = [];
  for (let i = 0; i < 50 && children.length < 3; i++) {
    children = childrenOf(legate.child.pid!);
    if (children.length < 3) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(children.length, 3, 'two workers and a spare');
  t.ok(workers.every((w) => children.includes(w)), 'the serving workers are among them');
});
