// `legate explain --admin` against `legate run --workers 2`: host health comes from the workers
// (the /clusters path), a host failing its active health check is shown failed and never named,
// and each named host is the one that serves the request, whichever worker takes it.
import t from 'tap';
import { request } from 'undici';
import type { Explanation } from '../../../proxy/explain/index.ts';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { runCli, spawnLegate } from '../../support/legate-process.ts';
import { defaultHandler, startUpstream, type UpstreamHandler } from '../../support/upstream.ts';

const failingHealth = (name: string): UpstreamHandler => {
  const serve = defaultHandler(name);
  return (req, res, index) => {
    if (req.url !== '/healthz') return serve(req, res, index);
    req.resume();
    res.writeHead(503).end();
  };
};
const upstreams = [await startUpstream('a'), await startUpstream('b'), await startUpstream('c', failingHealth('c'))];
t.teardown(() => Promise.all(upstreams.map((u) => u.close())));

const legate = await spawnLegate(bootstrap(
  [httpListener('web', routes([{ match: { prefix: '/' }, route: { cluster: 'ring', hash_policy: [{ header: { header_name: 'x-user' } }] } }]))],
  [staticCluster('ring', upstreams.map((u) => ({ port: u.port })), {
    lb_policy: 'MAGLEV',
    health_checks: [{ timeout: '1s', interval: '0.05s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/healthz' } }],
  })],
), ['--workers', '2']);
t.teardown(() => legate.stop());
const admin = new URL(legate.adminUrl('/')).host;

async function explainJson(user: string): Promise<Explanation> {
  const response = await request(legate.adminUrl(`/explain?${new URLSearchParams({ url: legate.url(`/cart/${user}`), header: `x-user: ${user}` })}`));
  if (response.statusCode !== 200) throw new Error(await response.body.text());
  return (await response.body.json()) as Explanation;
}

t.test('health from the workers: c fails its check, a and b pass', async (t) => {
  const deadline = Date.now() + 10_000;
  let health: string[] = [];
  while (Date.now() < deadline) {
    health = (await explainJson('alice')).clusters[0].hosts.map((h) => h.health);
    if (health.join() === 'healthy,healthy,/failed_active_hc') break;
    await new Promise((resolve) => setTimeout(resolve, 50)); // polling the proxy's view, with a deadline
  }
  t.same(health, ['healthy', 'healthy', '/failed_active_hc']);
});

t.test('each named host serves its request; the failed host is never named', async (t) => {
  const served = new Set<string>();
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj']) {
    const [cluster] = (await explainJson(user)).clusters;
    t.equal(cluster.hostsFrom, 'live');
    t.not(cluster.pick, upstreams[2].address, `${user}: not the failed host`);
    // two requests, so both workers are likely to answer at least one of them
    for (let i = 0; i < 2; i++) {
      const response = await request(legate.url(`/cart/${user}`), { headers: { 'x-user': user }, reset: true });
      const { upstream } = (await response.body.json()) as { upstream: string };
      t.equal(cluster.pick, upstreams.find((u) => u.name === upstream)!.address, `${user}: served by ${upstream}`);
      served.add(upstream);
    }
  }
  t.ok(served.size === 2, `a and b both serve (${[...served].join(', ')})`);
});

t.test('the CLI prints the failed host without the pick mark', async (t) => {
  const result = await runCli(['explain', '--admin', admin, '-H', 'x-user: alice', legate.url('/cart/alice')]);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, `  ${upstreams[2].address} /failed_active_hc weight 1 priority 0, 0 active requests, `);
  t.match(result.stdout, /next: hash \d+ -> 127\.0\.0\.1:\d+ \(MAGLEV over the current hosts\)/);
});
