import type { LbHost } from './host.ts';
import type { HashTable } from './hash-balancer.ts';
import type { NormalizedWeights } from './normalize-weights.ts';
import { xxHash32 } from './xxhash32.ts';

// MAGLEV (Eisenbud et al., NSDI 2016), as Envoy builds it: each host walks its own permutation of
// the table's slots (offset and skip from two hashes of its address) and claims its next free
// slot in turn; a host of weight w takes a turn in w / max(w) of the rounds, so slot counts follow
// the weights. Lookup is one index: table[hash % size]. The size must be prime so that every
// permutation visits every slot.
export class MaglevTable implements HashTable {
  readonly #table: Int32Array;
  readonly #hosts: readonly LbHost[];

  constructor(w: NormalizedWeights, tableSize: number) {
    if (!isPrime(tableSize)) throw new RangeError(`MAGLEV table_size ${tableSize} must be a prime number`);
    const hosts = w.hosts;
    this.#hosts = hosts;
    const n = hosts.length;
    this.#table = new Int32Array(n === 0 ? 0 : tableSize).fill(-1);
    if (n === 0) return;
    const next = new Float64Array(n); // the slot each host's permutation tries next
    const skip = new Float64Array(n);
    const target = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = xxHash32(hosts[i].address, 0) % tableSize;
      skip[i] = (xxHash32(hosts[i].address, 1) % (tableSize - 1)) + 1;
    }
    // The heaviest host claims a slot every round, so this ends after at most tableSize rounds;
    // a free slot always exists while filled < tableSize, so each inner walk ends too.
    let filled = 0;
    for (let round = 1; filled < tableSize; round++) {
      for (let i = 0; i < n && filled < tableSize; i++) {
        if (round * w.weights[i] < target[i]) continue;
        target[i] += w.max;
        let slot = next[i];
        while (this.#table[slot] !== -1) slot = advance(slot, skip[i], tableSize);
        this.#table[slot] = i;
        next[i] = advance(slot, skip[i], tableSize);
        filled++;
      }
    }
  }

  lookup(hash: number, attempt: number): LbHost | null {
    const size = this.#table.length;
    if (size === 0) return null;
    // A retry flips many bits of the hash (Envoy XORs with -attempt) to land far from the first slot.
    const h = attempt === 0 ? hash : (hash ^ -attempt) >>> 0;
    return this.#hosts[this.#table[h % size]];
  }
}

function advance(slot: number, skip: number, size: number): number {
  const s = slot + skip;
  return s >= size ? s - size : s;
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
