import t from 'tap';
import type { Cluster } from '../../../proxy/config/model.ts';
import type { LbHost } from '../../../proxy/upstream/lb/host.ts';
import { createLoadBalancer } from '../../../proxy/upstream/lb/index.ts';
import { MaglevTable } from '../../../proxy/upstream/lb/maglev.ts';
import type { NormalizedWeights } from '../../../proxy/upstream/lb/normalize-weights.ts';
import { RingHashTable } from '../../../proxy/upstream/lb/ring-hash.ts';
import { xxHash32 } from '../../../proxy/upstream/lb/xxhash32.ts';
import { lbCluster, TestHost } from '../../support/lb.ts';

function hosts(n: number, priority = 0): TestHost[] {
  return Array.from({ length: n }, (_, i) => new TestHost(`10.1.${priority}.${i}:8080`, 1, priority));
}

const cluster = (over: Partial<Cluster> = {}): Cluster => lbCluster('hash', over);

function equalWeights(list: LbHost[]): NormalizedWeights {
  const total = list.reduce((s, h) => s + h.weight, 0);
  const weights = list.map((h) => h.weight / total);
  return { hosts: list, weights, min: Math.min(...weights), max: Math.max(...weights) };
}

// Hashes spread over the uint32 space.
const keys = Array.from({ length: 20000 }, (_, i) => xxHash32(`key-${i}`));

t.test('xxHash32 matches the reference vectors', async (t) => {
  const vectors: [string, number, number][] = [
    ['', 0, 0x02cc5d05],
    ['', 1, 0x0b2cb792],
    ['a', 0, 0x550d7456],
    ['abc', 0, 0x32d153ff],
    ['abc', 1, 0xaa3da8ff],
    ['Nobody inspects the spammish repetition', 0, 0xe2293b2f],
    ['Nobody inspects the spammish repetition', 1, 0x534469ea],
    ['10.0.0.1:8080_17', 0, 0x7c54a3f5],
    ['héllo wörld ✓ 𝄞 0123456789abcdef', 0, 0x7c5b60c3],
  ];
  for (const [input, seed, expected] of vectors) t.equal(xxHash32(input, seed), expected, JSON.stringify(input));
});

for (const policy of ['RING_HASH', 'MAGLEV'] as const) {
  t.test(`${policy}: same hash, same host; few keys move when a host leaves`, async (t) => {
    const list = hosts(10);
    const lb = createLoadBalancer(policy, list, cluster());
    const before = keys.map((hash) => lb.chooseHost({ hash }));
    t.same(
      keys.map((hash) => lb.chooseHost({ hash })),
      before,
      'repeatable',
    );
    t.equal(new Set(before).size, 10, 'every host owns keys');

    list[3]!.status = 'unhealthy';
    lb.refresh();
    const after = keys.map((hash) => lb.chooseHost({ hash }));
    t.notOk(after.includes(list[3]!), 'the unhealthy host owns no keys');
    const moved = keys.filter((_, i) => after[i] !== before[i]).length / keys.length;
    const ownedByGone = before.filter((h) => h === list[3]).length / keys.length;
    t.ok(Math.abs(ownedByGone - 0.1) < 0.03, `the leaving host had ~1/10 of the keys (${ownedByGone})`);
    // Maglev moves little more than the leaving host's keys; the ring also resizes (each host's
    // entry count is derived from minimum_ring_size / hosts, as in Envoy) and so moves a few more.
    const bound = policy === 'MAGLEV' ? ownedByGone + 0.01 : 0.2;
    t.ok(moved < bound, `keys that changed host: ${moved.toFixed(3)} (modulo hashing would move ~0.9)`);

    list[3]!.status = 'healthy';
    lb.refresh();
    t.same(
      keys.map((hash) => lb.chooseHost({ hash })),
      before,
      'back to the same mapping when the host returns',
    );
  });

  t.test(`${policy}: weights shape the shares`, async (t) => {
    const list = [new TestHost('a:80', 1), new TestHost('b:80', 3)];
    const lb = createLoadBalancer(policy, list, cluster({ ringHash: { minimumRingSize: 8192, maximumRingSize: 8388608 } }));
    const share = keys.filter((hash) => lb.chooseHost({ hash }) === list[0]).length / keys.length;
    t.ok(Math.abs(share - 0.25) < 0.04, `light host share ${share.toFixed(3)}`);
  });

  t.test(`${policy}: the hash chooses the priority too`, async (t) => {
    const p0 = hosts(4, 0);
    const p1 = hosts(4, 1);
    const lb = createLoadBalancer(policy, [...p0, ...p1], cluster());
    t.ok(keys.every((hash) => lb.chooseHost({ hash })!.priority === 0));
    for (const h of p0) h.status = 'unhealthy';
    lb.refresh();
    t.ok(keys.every((hash) => lb.chooseHost({ hash })!.priority === 1), 'P0 down: P1');
    t.ok(lb.chooseHost() !== null, 'no hash: a random one');
  });
}

t.test('ring size follows minimum_ring_size and maximum_ring_size', async (t) => {
  t.equal(new RingHashTable(equalWeights(hosts(4)), 1024, 8388608).size, 1024);
  t.equal(new RingHashTable(equalWeights(hosts(3)), 1024, 8388608).size, 1026, 'each host gets whole entries');
  t.equal(new RingHashTable(equalWeights(hosts(4)), 1024, 100).size, 100, 'capped');
  const ring = new RingHashTable(equalWeights([]), 1024, 8388608);
  t.equal(ring.lookup(5, 0), null);
});

t.test('ring lookup wraps and retries step along the ring', async (t) => {
  const list = hosts(5);
  const ring = new RingHashTable(equalWeights(list), 1024, 8388608);
  t.equal(ring.lookup(0xffffffff, 0), ring.lookup(0, 0), 'past the last point wraps to the first');
  const seen = new Set<LbHost | null>();
  for (let attempt = 0; attempt < 40; attempt++) seen.add(ring.lookup(12345, attempt));
  t.equal(seen.size, 5, 'successive attempts reach other hosts');
});

t.test('maglev table: equal weights fill within one slot of each other', async (t) => {
  const list = hosts(7);
  const table = new MaglevTable(equalWeights(list), 65537);
  const counts = new Map<LbHost | null, number>();
  for (let h = 0; h < 65537; h++) {
    const host = table.lookup(h, 0);
    counts.set(host, (counts.get(host) ?? 0) + 1);
  }
  const values = [...counts.values()];
  t.equal(counts.size, 7);
  t.ok(Math.max(...values) - Math.min(...values) <= 1, `slot counts ${values.join(',')}`);

  const weighted = [new TestHost('a:80', 1), new TestHost('b:80', 3)];
  const wt = new MaglevTable(
    { hosts: weighted, weights: [0.25, 0.75], min: 0.25, max: 0.75 },
    65537,
  );
  let light = 0;
  for (let h = 0; h < 65537; h++) if (wt.lookup(h, 0) === weighted[0]) light++;
  t.ok(Math.abs(light / 65537 - 0.25) < 0.001, `1:3 weights give 1/4 of the slots (${light})`);
});

t.test('maglev rejects a table size that is not prime', async (t) => {
  t.throws(() => new MaglevTable(equalWeights(hosts(2)), 65536), /prime/);
  t.throws(() => createLoadBalancer('MAGLEV', hosts(2), cluster({ maglevTableSize: 1000 })), /prime/);
  t.doesNotThrow(() => new MaglevTable(equalWeights(hosts(2)), 5000011));
});

t.test('locality weights split consistent-hash tables', async (t) => {
  const mk = (name: string, locality: string, weight: number) => new TestHost(`${name}:80`, 1, 0, locality, weight);
  const list = [mk('a0', 'a', 1), mk('b0', 'b', 3), mk('b1', 'b', 3), mk('c0', 'c', 0)];
  const lb = createLoadBalancer('MAGLEV', list, cluster({ localityWeightedLb: true }));
  const counts = new Map<LbHost | null, number>();
  for (const hash of keys) {
    const h = lb.chooseHost({ hash });
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  t.notOk(counts.has(list[3]!), 'a locality without weight gets nothing');
  t.ok(Math.abs(counts.get(list[0]!)! / keys.length - 0.25) < 0.02, 'locality a: 1/4');

  const none = [mk('x0', 'x', 0), mk('y0', 'y', 0)];
  t.equal(createLoadBalancer('RING_HASH', none, cluster({ localityWeightedLb: true })).chooseHost({ hash: 1 }), null, 'no locality weights: nothing, as Envoy');
});
