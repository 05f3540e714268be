import t from 'tap';
import type { PrioritySetOptions } from '../../../proxy/upstream/priority-set.ts';
import { PrioritySet } from '../../../proxy/upstream/priority-set.ts';
import { type HostStatus, TestHost } from '../../support/lb.ts';

const defaults: PrioritySetOptions = { overprovisioningFactor: 140, panicThresholdPercent: 50, localityWeighted: false };

// `counts` hosts per status, in priority `priority`.
function hostsOf(priority: number, counts: Partial<Record<HostStatus, number>>, prefix = `p${priority}`): TestHost[] {
  const out: TestHost[] = [];
  for (const status of ['healthy', 'degraded', 'unhealthy'] as const) {
    for (let i = 0; i < (counts[status] ?? 0); i++) {
      const h = new TestHost(`${prefix}-${status}-${i}:80`, 1, priority, 'r/z/s');
      h.status = status;
      out.push(h);
    }
  }
  return out;
}

function loads(ps: PrioritySet): { healthy: number[]; degraded: number[] } {
  return { healthy: ps.levels.map((l) => l.healthyLoad), degraded: ps.levels.map((l) => l.degradedLoad) };
}

t.test('P0 keeps all traffic while overprovisioned health covers it', async (t) => {
  // Envoy's priority table, P1 fully healthy: P0 health% -> P0 load.
  const table: [number, number][] = [
    [100, 100],
    [72, 100],
    [71, 99],
    [50, 70],
    [25, 35],
    [0, 0],
  ];
  for (const [healthyPercent, p0Load] of table) {
    const ps = new PrioritySet(
      [...hostsOf(0, { healthy: healthyPercent, unhealthy: 100 - healthyPercent }), ...hostsOf(1, { healthy: 10 })],
      defaults,
    );
    t.same(loads(ps).healthy, [p0Load, 100 - p0Load], `P0 ${healthyPercent}% healthy`);
    t.notOk(ps.levels[0]!.panic, 'P1 absorbs the rest: no panic');
  }
});

t.test('choosePriority maps n % 100 onto the loads', async (t) => {
  const ps = new PrioritySet([...hostsOf(0, { healthy: 5, unhealthy: 5 }), ...hostsOf(1, { healthy: 4 })], defaults);
  let p0 = 0;
  for (let n = 0; n < 1000; n++) if (ps.choosePriority(n).priority === 0) p0++;
  t.equal(p0, 700, '70 % of the request space goes to P0 at 50 % healthy');
  const src = ps.chooseSource(99); // 99 % 100 + 1 = 100 > 70: P1
  t.equal(src.priority, 1);
  t.equal(src.availability, 'healthy');
  t.equal(src.hosts.length, 4);
});

t.test('P0 entirely unhealthy: P1 takes everything', async (t) => {
  const ps = new PrioritySet([...hostsOf(0, { unhealthy: 3 }), ...hostsOf(1, { healthy: 2 })], defaults);
  t.same(loads(ps).healthy, [0, 100]);
  for (let n = 0; n < 100; n++) t.equal(ps.chooseSource(n).priority, 1);
});

t.test('degraded hosts take only what healthy ones cannot (Envoy table)', async (t) => {
  const table: [Partial<Record<HostStatus, number>>, number, number][] = [
    [{ healthy: 100 }, 100, 0],
    [{ healthy: 71, unhealthy: 29 }, 100, 0],
    [{ healthy: 71, degraded: 29 }, 99, 1],
    [{ healthy: 25, degraded: 65, unhealthy: 10 }, 35, 65],
    [{ healthy: 5, unhealthy: 95 }, 100, 0],
  ];
  for (const [counts, healthyLoad, degradedLoad] of table) {
    const ps = new PrioritySet(hostsOf(0, counts), { ...defaults, panicThresholdPercent: 0 });
    t.same(loads(ps), { healthy: [healthyLoad], degraded: [degradedLoad] }, JSON.stringify(counts));
  }
  const ps = new PrioritySet(hostsOf(0, { healthy: 25, degraded: 65, unhealthy: 10 }), defaults);
  const picked = ps.chooseSource(50); // 51 > 35: degraded
  t.equal(picked.availability, 'degraded');
  t.ok(picked.hosts.every((h) => h.degraded()));
  t.notOk(ps.levels[0]!.panic, '90 % healthy or degraded: no panic');
});

t.test('panic: below the threshold a priority balances over all its hosts', async (t) => {
  const hosts = hostsOf(0, { healthy: 2, unhealthy: 3 }); // 40 %
  const ps = new PrioritySet(hosts, defaults);
  t.ok(ps.levels[0]!.panic);
  const src = ps.chooseSource(0);
  t.equal(src.availability, 'all');
  t.equal(src.hosts.length, 5);

  const half = new PrioritySet(hostsOf(0, { healthy: 2, unhealthy: 2 }), defaults);
  t.notOk(half.levels[0]!.panic, 'exactly 50 % is not below 50 %');
  t.equal(half.chooseSource(0).hosts.length, 2);

  const disabled = new PrioritySet(hostsOf(0, { healthy: 1, unhealthy: 9 }), { ...defaults, panicThresholdPercent: 0 });
  t.notOk(disabled.levels[0]!.panic, 'threshold 0 disables panic');
  t.equal(disabled.chooseSource(0).hosts.length, 1);

  const none = new PrioritySet(hostsOf(0, { unhealthy: 4 }), { ...defaults, panicThresholdPercent: 0 });
  t.same(loads(none).healthy, [100]);
  t.equal(none.chooseSource(0).hosts.length, 0, 'no panic and no healthy host: nothing to pick');

  const fractional = new PrioritySet(hostsOf(0, { healthy: 1, unhealthy: 1 }), { ...defaults, panicThresholdPercent: 50.9 });
  t.notOk(fractional.levels[0]!.panic, 'the threshold is truncated to a whole percent');
});

t.test('no panic while the priorities together are fully available', async (t) => {
  const ps = new PrioritySet([...hostsOf(0, { healthy: 1, unhealthy: 9 }), ...hostsOf(1, { healthy: 10 })], defaults);
  t.notOk(ps.levels[0]!.panic, 'P0 at 10 % does not panic: P1 covers the rest');
  t.same(loads(ps).healthy, [14, 86]);
});

t.test('total panic: load follows host counts', async (t) => {
  const ps = new PrioritySet([...hostsOf(0, { unhealthy: 3 }), ...hostsOf(1, { unhealthy: 1 })], defaults);
  t.ok(ps.levels.every((l) => l.panic));
  t.same(loads(ps).healthy, [75, 25]);
  t.equal(ps.chooseSource(0).hosts.length, 3, 'P0 in panic: all its hosts');

  const partial = new PrioritySet([...hostsOf(0, { healthy: 1, unhealthy: 9 }), ...hostsOf(1, { healthy: 1, unhealthy: 9 })], defaults);
  t.ok(partial.levels.every((l) => l.panic));
  t.same(loads(partial).healthy, [50, 50]);
});

t.test('empty and sparse priorities', async (t) => {
  const empty = new PrioritySet([], defaults);
  t.equal(empty.levels.length, 1);
  t.same(loads(empty).healthy, [100]);
  t.equal(empty.chooseSource(7).hosts.length, 0);

  const sparse = new PrioritySet(hostsOf(2, { healthy: 2 }), defaults);
  t.equal(sparse.levels.length, 3, 'P0 and P1 exist, empty');
  t.same(loads(sparse).healthy, [0, 0, 100]);
});

t.test('refresh re-reads health', async (t) => {
  const p0 = hostsOf(0, { healthy: 4 });
  const ps = new PrioritySet([...p0, ...hostsOf(1, { healthy: 4 })], defaults);
  t.same(loads(ps).healthy, [100, 0]);
  for (const h of p0) h.status = 'unhealthy';
  t.same(loads(ps).healthy, [100, 0], 'nothing changes before refresh');
  ps.refresh();
  t.same(loads(ps).healthy, [0, 100]);
  t.equal(ps.levels[0]!.healthy.hosts.length, 0);
});

t.test('locality weighted: effective weight = weight x min(1, 1.4 x healthy share)', async (t) => {
  const a = [0, 1, 2, 3].map((i) => new TestHost(`a${i}:80`, 1, 0, 'r/a/', 1));
  const b = [0, 1, 2, 3].map((i) => new TestHost(`b${i}:80`, 1, 0, 'r/b/', 3));
  const ps = new PrioritySet([...a, ...b], { ...defaults, localityWeighted: true });
  const count = (picks: number): Map<string, number> => {
    const seen = new Map<string, number>();
    for (let n = 0; n < picks; n++) {
      const key = ps.chooseSource(n).hosts[0]!.address[0]!;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    return seen;
  };
  t.same(count(400), new Map([['a', 100], ['b', 300]]), 'weights 1:3, exactly');

  b[0]!.status = 'unhealthy';
  b[1]!.status = 'unhealthy';
  ps.refresh(); // b: 3 x min(1, 1.4 x 0.5) = 2.1
  const counts = count(3100);
  t.equal(counts.get('a'), 1000);
  t.equal(counts.get('b'), 2100);
  t.ok(ps.chooseSource(0).hosts.every((h) => h.healthy()), 'a locality source holds its healthy hosts');

  const unweighted = new TestHost('c0:80', 1, 0, 'r/c/', 0);
  const withUnset = new PrioritySet([...a, unweighted], { ...defaults, localityWeighted: true });
  for (let n = 0; n < 50; n++) t.not(withUnset.chooseSource(n).hosts[0], unweighted, 'a locality without weight gets nothing');

  const allUnset = new PrioritySet(hostsOf(0, { healthy: 3 }), { ...defaults, localityWeighted: true });
  t.equal(allUnset.chooseSource(0).hosts.length, 3, 'no locality weights: the whole priority');
});
