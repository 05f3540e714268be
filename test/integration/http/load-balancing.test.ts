// How traffic is split: weighted_clusters across clusters (random, by weight) and
// load_balancing_weight across the hosts of one cluster (round robin on a smooth weighted
// schedule, so a 1:3 pair interleaves instead of bursting).
import t from 'tap';
import { Pool } from 'undici';
import { bootstrap, httpListener, routes, staticCluster } from '../../support/bootstrap.ts';
import { startLegate } from '../../support/legate.ts';
import { startUpstream, type Upstream } from '../../support/upstream.ts';

const light = await startUpstream('light');
const heavy = await startUpstream('heavy');
t.teardown(() => Promise.all([light.close(), heavy.close()]));

const legate = await startLegate(
  bootstrap(
    [
      httpListener(
        'ingress',
        routes([
          { match: { prefix: '/split' }, route: { weighted_clusters: { clusters: [{ name: 'light', weight: 1 }, { name: 'heavy', weight: 3 }] } } },
          { match: { prefix: '/weighted-hosts' }, route: { cluster: 'both' } },
        ]),
      ),
    ],
    [
      staticCluster('light', [{ port: light.port }]),
      staticCluster('heavy', [{ port: heavy.port }]),
      staticCluster('both', [
        { port: light.port, weight: 1 },
        { port: heavy.port, weight: 3 },
      ]),
    ],
  ),
);
t.teardown(() => legate.stop());

const client = new Pool(`http://127.0.0.1:${legate.port()}`, { connections: 16 });
t.teardown(() => client.close());

/** Sends `count` GETs, `concurrency` at a time, and returns which upstream answered each, in order. */
async function send(path: string, count: number, concurrency: number): Promise<string[]> {
  const answers: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await client.request({ path, method: 'GET' });
      const body = (await res.body.json()) as { upstream: string };
      answers[i] = body.upstream;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

const share = (answers: string[], name: string) => answers.filter((a) => a === name).length / answers.length;

function resetSeen(...upstreams: Upstream[]): void {
  for (const u of upstreams) u.seen.length = 0;
}

t.test('weighted_clusters 1:3 splits 2000 requests within a few percent', async (t) => {
  resetSeen(light, heavy);
  const answers = await send('/split', 2000, 16);
  // 25 % of 2000 has a standard deviation of about 1 %: 3.5 % is more than three of them.
  const lightShare = share(answers, 'light');
  t.ok(Math.abs(lightShare - 0.25) < 0.035, `light got ${(lightShare * 100).toFixed(1)} %, expected 25 %`);
  t.equal(light.seen.length + heavy.seen.length, 2000, 'every request reached an upstream');
  t.equal(light.seen.length, answers.filter((a) => a === 'light').length);
});

t.test('load_balancing_weight 1:3 interleaves smoothly', async (t) => {
  // One at a time, so the order the balancer picked is the order of the answers.
  const answers = await send('/weighted-hosts', 40, 1);
  let run = 0;
  let longest = 0;
  for (const a of answers) {
    run = a === 'heavy' ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  t.ok(longest <= 3, `the heavy host never gets more than 3 in a row (longest run ${longest}): ${answers.join(' ')}`);
  for (let end = 4; end <= answers.length; end += 4) {
    t.equal(share(answers.slice(0, end), 'light'), 0.25, `exactly 25 % light over the first ${end} requests`);
  }
});
