import t from 'tap';
import type { Cluster, LbPolicy } from '../../../proxy/config/model.ts';
import type { LbHost } from '../../../proxy/upstream/lb/host.ts';
import { createLoadBalancer } from '../../../proxy/upstream/lb/index.ts';
import { WeightedSchedule } from '../../../proxy/upstream/lb/weighted-schedule.ts';
import { lbCluster, seeded, TestHost } from '../../support/lb.ts';

function hosts(n: number, priority = 0, weight = 1): TestHost[] {
  return Array.from({ length: n }, (_, i) => new TestHost(`10.0.${priority}.${i}:80`, weight, priority));
}

const cluster = (over: Partial<Cluster> = {}): Cluster => lbCluster('test', over);

function picks(policy: LbPolicy, list: LbHost[], count: number, random = seeded(1)): LbHost[] {
  const lb = createLoadBalancer(policy, list, cluster(), random);
  return Array.from({ length: count }, () => lb.chooseHost()!);
}

function tally(list: LbHost[]): Map<LbHost, number> {
  const m = new Map<LbHost, number>();
  for (const h of list) m.set(h, (m.get(h) ?? 0) + 1);
  return m;
}

t.test('weighted round robin 1:3 interleaves smoothly', async (t) => {
  const [a, b] = [new TestHost('a:80', 1), new TestHost('b:80', 3)];
  const seq = picks('ROUND_ROBIN', [a!, b!], 4000);
  let run = 0;
  let longest = 0;
  for (const h of seq) {
    run = h === b ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  t.equal(longest, 3, 'never more than 3 heavy picks in a row');
  let bad = 0;
  for (let i = 0; i + 4 <= seq.length; i++) {
    if (seq.slice(i, i + 4).filter((h) => h === a).length !== 1) bad++;
  }
  t.equal(bad, 0, 'every window of 4 consecutive picks holds exactly one light pick');
  t.equal(tally(seq).get(a!), 1000);
});

t.test('weighted round robin 1:2:3 over many periods is exact', async (t) => {
  const list = [new TestHost('a:80', 1), new TestHost('b:80', 2), new TestHost('c:80', 3)];
  const counts = tally(picks('ROUND_ROBIN', list, 6000));
  t.same(list.map((h) => counts.get(h)), [1000, 2000, 3000]);
});

t.test('weighted schedule restarts seamlessly on a period boundary', async (t) => {
  // Huge integer weights make the precision guard restart every 8 picks.
  const schedule = new WeightedSchedule([2 ** 45, 3 * 2 ** 45]);
  const seq = Array.from({ length: 40 }, () => schedule.pick()).join('');
  t.equal(seq, '1101'.repeat(10));
  t.throws(() => new WeightedSchedule([1, 0]), RangeError);
  t.throws(() => new WeightedSchedule([]), RangeError);
});

t.test('equal weights rotate from a random start', async (t) => {
  const list = hosts(4);
  const seq = picks('ROUND_ROBIN', list, 40);
  for (let i = 4; i < seq.length; i++) t.equal(seq[i], seq[i - 4], `pick ${i} repeats pick ${i - 4}`);
  t.equal(new Set(seq.slice(0, 4)).size, 4, 'each host once per turn');
  const starts = new Set<LbHost>();
  for (let seed = 1; seed <= 20; seed++) starts.add(picks('ROUND_ROBIN', list, 1, seeded(seed))[0]!);
  t.ok(starts.size > 1, 'different balancers start on different hosts');
});

t.test('unhealthy hosts are skipped after refresh', async (t) => {
  for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const) {
    const list = hosts(4);
    const lb = createLoadBalancer(policy, list, cluster(), seeded(3));
    list[2]!.status = 'unhealthy';
    lb.refresh();
    const seen = tally(Array.from({ length: 400 }, () => lb.chooseHost()!));
    t.notOk(seen.has(list[2]!), `${policy}: the unhealthy host gets nothing`);
    t.equal(seen.size, 3, `${policy}: the three healthy hosts all get traffic`);
  }
});

t.test('panic: under 50 % healthy every host is used', async (t) => {
  for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const) {
    const list = hosts(4);
    list[0]!.status = 'unhealthy';
    list[1]!.status = 'unhealthy';
    list[2]!.status = 'unhealthy';
    const lb = createLoadBalancer(policy, list, cluster(), seeded(4));
    const seen = tally(Array.from({ length: 400 }, () => lb.chooseHost()!));
    t.equal(seen.size, 4, `${policy}: all four hosts, healthy or not`);
  }
  const list = hosts(4);
  for (const h of list) h.status = 'unhealthy';
  const lb = createLoadBalancer('ROUND_ROBIN', list, cluster({ healthyPanicThresholdPercent: 0 }));
  t.equal(lb.chooseHost(), null, 'threshold 0: no healthy host, no host');
});

t.test('priority failover', async (t) => {
  const p0 = hosts(4, 0);
  const p1 = hosts(4, 1);
  const lb = createLoadBalancer('ROUND_ROBIN', [...p0, ...p1], cluster(), seeded(5));
  for (let i = 0; i < 100; i++) t.equal(lb.chooseHost()!.priority, 0);
  for (const h of p0) h.status = 'unhealthy';
  lb.refresh();
  for (let i = 0; i < 100; i++) t.equal(lb.chooseHost()!.priority, 1, 'P0 all unhealthy: P1');

  const half = hosts(10, 0);
  for (const h of half.slice(0, 5)) h.status = 'unhealthy';
  const split = createLoadBalancer('ROUND_ROBIN', [...half, ...hosts(10, 1)], cluster(), seeded(6));
  let toP0 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) if (split.chooseHost()!.priority === 0) toP0++;
  t.ok(Math.abs(toP0 / n - 0.7) < 0.015, `P0 at 50 % healthy gets 70 % (got ${(toP0 / n).toFixed(3)})`);
});

t.test('locality weighted round robin', async (t) => {
  const mk = (name: string, locality: string, weight: number) => new TestHost(`${name}:80`, 1, 0, locality, weight);
  const list = [mk('a0', 'a', 1), mk('a1', 'a', 1), mk('b0', 'b', 4), mk('b1', 'b', 4)];
  const lb = createLoadBalancer('ROUND_ROBIN', list, cluster({ localityWeightedLb: true }), seeded(7));
  const seen = tally(Array.from({ length: 500 }, () => lb.chooseHost()!));
  t.equal((seen.get(list[0]!) ?? 0) + (seen.get(list[1]!) ?? 0), 100, 'locality a: 1/5');
  t.equal((seen.get(list[2]!) ?? 0) + (seen.get(list[3]!) ?? 0), 400, 'locality b: 4/5');
  t.equal(seen.get(list[2]!), 200, 'round robin inside the locality');
});

t.test('least request prefers the idle host', async (t) => {
  const [busy, idle] = hosts(2);
  busy!.activeRequests = 10;
  // Scripted randoms: [priority, first sample, second sample] per pick.
  const script = [0, 0.1, 0.9, 0, 0.9, 0.1, 0, 0.1, 0.1];
  let i = 0;
  const lb = createLoadBalancer('LEAST_REQUEST', [busy!, idle!], cluster(), () => script[i++ % script.length]!);
  t.equal(lb.chooseHost(), idle, 'busy then idle sampled: idle');
  t.equal(lb.chooseHost(), idle, 'idle then busy sampled: idle');
  t.equal(lb.chooseHost(), busy, 'busy sampled twice: busy');

  const counts = tally(picks('LEAST_REQUEST', [busy!, idle!], 10000));
  const share = (counts.get(idle!) ?? 0) / 10000;
  t.ok(Math.abs(share - 0.75) < 0.02, `two choices: idle wins unless both samples are busy (${share})`);

  const five = hosts(5);
  for (const h of five) h.activeRequests = 3;
  five[4]!.activeRequests = 0;
  const lb3 = createLoadBalancer('LEAST_REQUEST', five, cluster({ leastRequestChoiceCount: 5 }), seeded(8));
  const idleShare = tally(Array.from({ length: 5000 }, () => lb3.chooseHost()!)).get(five[4]!)! / 5000;
  t.ok(Math.abs(idleShare - (1 - 0.8 ** 5)) < 0.03, `choice_count 5 (${idleShare})`);
});

t.test('weighted least request divides weight by active requests + 1', async (t) => {
  const light = new TestHost('light:80', 1);
  const heavy = new TestHost('heavy:80', 2);
  const lb = createLoadBalancer('LEAST_REQUEST', [light, heavy], cluster(), seeded(9));
  const idle = tally(Array.from({ length: 3000 }, () => lb.chooseHost()!));
  t.equal(idle.get(heavy), 2000, 'no load: plain 1:2 weights');

  heavy.activeRequests = 9; // 2 / 10 = 0.2 against 1 / 1
  const loaded = tally(Array.from({ length: 6000 }, () => lb.chooseHost()!));
  const share = (loaded.get(heavy) ?? 0) / 6000;
  t.ok(Math.abs(share - 1 / 6) < 0.01, `busy heavy host drops to 1/6 (${share.toFixed(3)})`);
});

t.test('weighted least request stays fair across deadline rebases', async (t) => {
  // Huge active counts make each turn a step of 2^22, so deadlines pass the rebase point often.
  const a = new TestHost('a:80', 1);
  const b = new TestHost('b:80', 2);
  a.activeRequests = 2 ** 22 - 1;
  b.activeRequests = 2 ** 23 - 1;
  const lb = createLoadBalancer('LEAST_REQUEST', [a, b], cluster(), seeded(12));
  const seq = Array.from({ length: 1000 }, () => lb.chooseHost()!);
  let repeats = 0;
  for (let i = 1; i < seq.length; i++) if (seq[i] === seq[i - 1]) repeats++;
  t.equal(repeats, 0, 'equal effective weights alternate');
});

t.test('random spreads evenly and ignores weights', async (t) => {
  const list = [new TestHost('a:80', 1), new TestHost('b:80', 9)];
  const counts = tally(picks('RANDOM', list, 10000));
  t.ok(Math.abs(counts.get(list[0]!)! / 10000 - 0.5) < 0.02);
});

t.test('exclude predicate is honoured within the attempt budget', async (t) => {
  for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const) {
    const list = hosts(3);
    const lb = createLoadBalancer(policy, list, cluster(), seeded(10));
    for (let i = 0; i < 50; i++) {
      const h = lb.chooseHost({ hash: i * 7919, exclude: (x) => x === list[0], maxAttempts: 8 });
      t.not(h, list[0], `${policy}: pick ${i} avoids the excluded host`);
    }
    const all = lb.chooseHost({ exclude: () => true, maxAttempts: 3 });
    t.ok(all !== null && list.includes(all as TestHost), `${policy}: all excluded still yields the last pick`);
  }
  const list = hosts(2);
  const lb = createLoadBalancer('ROUND_ROBIN', list, cluster(), seeded(11));
  let calls = 0;
  lb.chooseHost({ exclude: () => (calls++, true) });
  t.equal(calls, 2, 'default host_selection_retry_max_attempts 1: two picks');
});

t.test('empty clusters and CLUSTER_PROVIDED', async (t) => {
  for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const) {
    t.equal(createLoadBalancer(policy, [], cluster()).chooseHost(), null, policy);
  }
  t.throws(() => createLoadBalancer('CLUSTER_PROVIDED', hosts(1), cluster()), /CLUSTER_PROVIDED/);
});
