import type { LbHost } from './host.ts';
import type { HashTable } from './hash-balancer.ts';
import type { NormalizedWeights } from './normalize-weights.ts';
import { xxHash32 } from './xxhash32.ts';

// Sorting packs (point, host index) into one double: 32 + 21 bits fit in the 53 exact ones.
const HOST_BITS = 2 ** 21;

// RING_HASH (ketama), as Envoy: each host is hashed onto a ring of uint32 points
// ("address_0", "address_1", ...) as many times as its weight share of the ring, which is sized
// so that the lightest host gets at least minimum_ring_size x its share, capped at
// maximum_ring_size. A request goes to the first point at or after its hash (binary search),
// wrapping to the start; a retry steps to the following points.
export class RingHashTable implements HashTable {
  readonly #points: Uint32Array;
  readonly #owners: Uint32Array;
  readonly #hosts: readonly LbHost[];

  constructor(w: NormalizedWeights, minimumRingSize: number, maximumRingSize: number) {
    const hosts = w.hosts;
    this.#hosts = hosts;
    if (hosts.length > HOST_BITS) throw new RangeError(`RING_HASH supports at most ${HOST_BITS} hosts, got ${hosts.length}`);
    const scale = hosts.length === 0 ? 0 : Math.min(Math.ceil(w.min * minimumRingSize) / w.min, maximumRingSize);
    // Running sums hand out whole entries while the totals track scale x weight.
    const counts = new Float64Array(hosts.length);
    let current = 0;
    let target = 0;
    for (let i = 0; i < hosts.length; i++) {
      target += scale * w.weights[i];
      counts[i] = Math.max(0, Math.ceil(target) - current);
      current += counts[i];
    }
    const keys = new Float64Array(current);
    let k = 0;
    for (let i = 0; i < hosts.length; i++) {
      const address = hosts[i].address;
      for (let r = 0; r < counts[i]; r++) keys[k++] = xxHash32(`${address}_${r}`) * HOST_BITS + i;
    }
    keys.sort();
    this.#points = new Uint32Array(current);
    this.#owners = new Uint32Array(current);
    for (let j = 0; j < current; j++) {
      const point = Math.floor(keys[j] / HOST_BITS);
      this.#points[j] = point;
      this.#owners[j] = keys[j] - point * HOST_BITS;
    }
  }

  get size(): number {
    return this.#points.length;
  }

  lookup(hash: number, attempt: number): LbHost | null {
    const points = this.#points;
    const n = points.length;
    if (n === 0) return null;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    const at = (lo + attempt) % n;
    return this.#hosts[this.#owners[at]];
  }
}
