import type { PrioritySet } from '../priority-set.ts';
import type { LbContext, LbHost, LoadBalancer } from './host.ts';
import { randomUint32, selectionPicks } from './host.ts';
import { sameHosts } from './host-list.ts';
import type { NormalizedWeights } from './normalize-weights.ts';
import { normalizeWeights } from './normalize-weights.ts';

// A consistent-hash lookup structure; `attempt` > 0 asks for an alternative to the host
// attempt 0 gave (a retry host predicate rejected it).
export interface HashTable {
  lookup(hash: number, attempt: number): LbHost | null;
}

export type HashTableFactory = (weights: NormalizedWeights) => HashTable;

// RING_HASH and MAGLEV (Envoy's ThreadAwareLoadBalancerBase): one table per priority, built over
// that priority's healthy hosts (all hosts in panic). The request hash picks the priority too,
// so a key stays on one host while health is stable. Like Envoy, tables are rebuilt when health
// changes rather than skipping unhealthy entries at pick time: an unhealthy host's share is then
// spread over all remaining hosts instead of landing on one neighbour, and the lookup stays one
// probe. Degraded hosts get no table: a request that the degraded load sends to a priority finds
// its healthy table, as in Envoy.
export class HashBalancer implements LoadBalancer {
  readonly #prioritySet: PrioritySet;
  readonly #random: () => number;
  readonly #makeTable: HashTableFactory;
  readonly #tables: HashTable[] = [];
  readonly #builtOver: (readonly LbHost[])[] = [];

  constructor(prioritySet: PrioritySet, random: () => number, makeTable: HashTableFactory) {
    this.#prioritySet = prioritySet;
    this.#random = random;
    this.#makeTable = makeTable;
    this.#build(true);
  }

  chooseHost(ctx?: LbContext): LbHost | null {
    const hash = ctx?.hash ?? randomUint32(this.#random);
    const table = this.#tables[this.#prioritySet.choosePriority(hash).priority];
    const picks = selectionPicks(ctx);
    let host: LbHost | null = null;
    for (let attempt = 0; attempt < picks; attempt++) {
      host = table.lookup(hash, attempt);
      if (host === null || ctx?.exclude === undefined || !ctx.exclude(host)) return host;
    }
    return host;
  }

  refresh(): void {
    this.#prioritySet.refresh();
    this.#build(false);
  }

  #build(all: boolean): void {
    for (const level of this.#prioritySet.levels) {
      const eligible = level.panic ? level.hosts : level.healthy.hosts;
      if (!all && sameHosts(eligible, this.#builtOver[level.priority])) continue;
      this.#tables[level.priority] = this.#makeTable(normalizeWeights(level, this.#prioritySet.localityWeighted));
      this.#builtOver[level.priority] = eligible;
    }
  }
}
