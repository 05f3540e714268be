import type { PriorityLevel } from '../priority-set.ts';
import type { LbHost } from './host.ts';

// Host weights scaled to sum to 1 over the hosts a consistent-hash table is built from.
export interface NormalizedWeights {
  hosts: LbHost[];
  weights: number[];
  min: number;
  max: number;
}

// As Envoy's thread-aware balancers: over the priority's healthy hosts, or all of them in panic.
// When locality weighted, each locality gets its configured share (weight / sum of weights),
// split among its hosts by host weight; a locality without weight gets nothing, and with no
// locality weights at all the table is empty. Unlike round robin, availability does not scale
// the locality weights here (Envoy leaves that as a TODO).
export function normalizeWeights(level: PriorityLevel, localityWeighted: boolean): NormalizedWeights {
  const out: NormalizedWeights = { hosts: [], weights: [], min: 1, max: 0 };
  if (!localityWeighted) {
    add(out, level.panic ? level.hosts : level.healthy.hosts, 1);
    return out;
  }
  let sum = 0;
  for (const locality of level.localities) sum += locality.weight;
  if (sum === 0) return out;
  for (const locality of level.localities) {
    if (locality.weight > 0) add(out, level.panic ? locality.hosts : locality.healthy.hosts, locality.weight / sum);
  }
  return out;
}

function add(out: NormalizedWeights, hosts: readonly LbHost[], share: number): void {
  let sum = 0;
  for (const h of hosts) sum += h.weight;
  for (const h of hosts) {
    const weight = (h.weight * share) / sum;
    out.hosts.push(h);
    out.weights.push(weight);
    out.min = Math.min(out.min, weight);
    out.max = Math.max(out.max, weight);
  }
}
