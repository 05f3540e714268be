// Active HTTP health checks end to end: a host failing its check gets no traffic, and returns
// once it passes. The checks run in the primary, which passes each change to the workers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import t from 'tap';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { fetchText } from '../../support/http.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream } from '../../support/upstream.ts';

/** An upstream whose /healthz answers `health.status`; other paths answer 200 with its name. */
async function checkedUpstream(name: string) {
  const health = { status: 200 };
  const upstream = await startUpstream(name, (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    res.writeHead(req.url === '/healthz' ? health.status : 200);
    res.end(name);
  });
  return { upstream, health, served: () => upstream.seen.filter((s) => s.url !== '/healthz').length };
}

const a = await checkedUpstream('a');
const b = await checkedUpstream('b');
t.teardown(() => a.upstream.close());
t.teardown(() => b.upstream.close());
b.health.status = 503;

const legate = await startLegate(
  bootstrap(
    [httpListener('ingress', routes([{ match: { prefix: '/' }, route: { cluster: 'svc' } }]))],
    [
      staticCluster('svc', [{ port: a.upstream.port }, { port: b.upstream.port }], {
        health_checks: [{ timeout: '1s', interval: '0.05s', unhealthy_threshold: 2, healthy_threshold: 2, http_health_check: { path: '/healthz' } }],
      }),
    ],
  ),
);
t.teardown(() => legate.stop());

/** Waits (polling /clusters with a deadline) until the primary's health checks moved `address` to `failed`. */
async function healthOf(address: string, failed: boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (((await flags(address)) === '/failed_active_hc') !== failed) {
    if (Date.now() > deadline) throw new Error(`${address} never became ${failed ? 'failed' : 'healthy'}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function flags(address: string): Promise<string> {
  const svc = (await legate.primary.clusters()).find((c) => c.name === 'svc')!;
  return svc.hosts.find((h) => h.address === address)!.healthFlags;
}

t.test('a host failing its health check gets no traffic', async (t) => {
  await healthOf(a.upstream.address, false);
  t.equal(await flags(a.upstream.address), 'healthy');
  t.equal(await flags(b.upstream.address), '/failed_active_hc', 'never passed a check');
  for (let i = 0; i < 10; i++) t.equal((await fetchText(legate.url('/'))).body, 'a');
  t.equal(b.served(), 0);
  const stats = await legate.primary.stats();
  t.equal(stats.gauges.get('cluster.svc.health_check.healthy'), 1);
  t.ok((stats.counters.get('cluster.svc.health_check.failure') ?? 0) >= 1);
});

t.test('it returns after passing; traffic follows when the other fails', async (t) => {
  b.health.status = 200;
  await healthOf(b.upstream.address, false);
  const before = b.served();
  for (let i = 0; i < 10; i++) await fetchText(legate.url('/'));
  t.ok(b.served() > before, 'b serves again');

  a.health.status = 500;
  await healthOf(a.upstream.address, true);
  const aBefore = a.served();
  for (let i = 0; i < 10; i++) t.equal((await fetchText(legate.url('/'))).body, 'b');
  t.equal(a.served(), aBefore, 'no traffic to the failed host');
});
