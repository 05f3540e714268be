// Against a running Legate: the host GET /explain names for a ring-hash route (header hash policy,
// three upstreams) is the host that then receives that request; `legate explain --admin` prints it.
import t from 'tap';
import { request } from 'undici';
import type { Explanation } from '../../../proxy/explain/index.ts';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { startLegate } from '../../support/legate.ts';
import { runCli } from '../../support/legate-process.ts';
import { startUpstreamFor } from '../../support/upstream.ts';

const upstreams = [await startUpstreamFor(t, 'a'), await startUpstreamFor(t, 'b'), await startUpstreamFor(t, 'c')];
const hashPolicy = [{ header: { header_name: 'x-user' } }];
// 'ring_less' is the same ring with c marked UNHEALTHY by EDS: its keys spread over a and b.
const ringLess = staticCluster('ring_less', upstreams.map((u) => ({ port: u.port })), { lb_policy: 'RING_HASH' });
(ringLess.load_assignment.endpoints[0].lb_endpoints[2] as Record<string, unknown>).health_status = 'UNHEALTHY';
const legate = await startLegate(bootstrap(
  [httpListener('web', routes([
    { match: { prefix: '/less/' }, route: { cluster: 'ring_less', hash_policy: hashPolicy } },
    { match: { prefix: '/' }, route: { cluster: 'ring', hash_policy: hashPolicy } },
  ]))],
  [staticCluster('ring', upstreams.map((u) => ({ port: u.port })), { lb_policy: 'RING_HASH' }), ringLess],
));
t.teardown(() => legate.stop());

async function explainOver(url: string, user: string): Promise<Explanation> {
  const query = new URLSearchParams({ url, header: `x-user: ${user}` });
  const response = await request(legate.adminUrl(`/explain?${query}`));
  t.equal(response.statusCode, 200);
  return (await response.body.json()) as Explanation;
}

t.test('the host explain names is the host that receives the request', async (t) => {
  const seen = new Set<string>();
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']) {
    const url = legate.url(`/cart/${user}`);
    const e = await explainOver(url, user);
    t.equal(e.listener.name, 'web');
    const [cluster] = e.clusters;
    t.equal(cluster.hostsFrom, 'live');
    t.equal(cluster.hosts.length, 3);
    t.type(cluster.hash, 'number');
    const response = await request(url, { headers: { 'x-user': user } });
    const { upstream } = (await response.body.json()) as { upstream: string };
    const served = upstreams.find((u) => u.name === upstream)!.address;
    t.equal(cluster.pick, served, `${user}: explain named ${cluster.pick}, ${served} served`);
    seen.add(served);
  }
  t.ok(seen.size > 1, `the users spread over ${seen.size} hosts`);
});

t.test('an unhealthy host is never named, and the named host still serves', async (t) => {
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']) {
    const url = legate.url(`/less/${user}`);
    const [cluster] = (await explainOver(url, user)).clusters;
    t.equal(cluster.hosts[2].health, '/failed_eds_health');
    t.not(cluster.pick, upstreams[2].address, `${user}: not the unhealthy host`);
    const response = await request(url, { headers: { 'x-user': user } });
    const { upstream } = (await response.body.json()) as { upstream: string };
    t.equal(cluster.pick, upstreams.find((u) => u.name === upstream)!.address, `${user}: served by ${upstream}`);
  }
});

t.test('legate explain --admin prints the live tree', async (t) => {
  const url = legate.url('/cart/alice');
  const expected = (await explainOver(url, 'alice')).clusters[0];
  const admin = new URL(legate.adminUrl('/')).host;
  const result = await runCli(['explain', '--admin', admin, '-H', 'x-user: alice', url]);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /cluster ring \(STATIC, RING_HASH, hosts live; 0 requests and \d+ connections active; max requests 1024, connections 1024, retries 3 per worker\)/);
  t.match(result.stdout, `  * ${expected.pick} healthy weight 1 priority 0, 0 active requests, `);
  t.match(result.stdout, `next: hash ${expected.hash} -> ${expected.pick} (RING_HASH over the current hosts)`);
  const bad = await runCli(['explain', '--admin', admin, '--listener', 'nope', url]);
  t.equal(bad.code, 1);
  t.equal(bad.stderr, "legate: unknown listener 'nope' (listeners: web)\n");
});

t.test('GET /explain: a bad question is a 400 with the one-line error; /help lists it', async (t) => {
  const ask = async (query: string) => {
    const response = await request(legate.adminUrl(`/explain${query}`));
    return { status: response.statusCode, body: (await response.body.json()) as { error?: string } };
  };
  t.same(await ask(''), { status: 400, body: { error: 'explain needs ?url=' } });
  t.same(await ask(`?${new URLSearchParams({ url: legate.url('/'), listener: 'nope' })}`), { status: 400, body: { error: "unknown listener 'nope' (listeners: web)" } });
  t.same(await ask(`?${new URLSearchParams({ url: 'http://127.0.0.1:1/' })}`), { status: 400, body: { error: `no listener on port 1 (web on 127.0.0.1:${legate.port()}); name one with --listener` } });
  const help = await request(legate.adminUrl('/help'));
  t.match(await help.body.text(), /\/explain: what the proxy would do with one request/);
});
