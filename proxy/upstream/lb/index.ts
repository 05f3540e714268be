import type { Cluster, LbPolicy } from '../../config/model.ts';
import { PrioritySet } from '../priority-set.ts';
import { HashBalancer } from './hash-balancer.ts';
import type { LbHost, LoadBalancer } from './host.ts';
import { leastRequestPickers } from './least-request.ts';
import { MaglevTable } from './maglev.ts';
import { randomPickers } from './random.ts';
import { RingHashTable } from './ring-hash.ts';
import { roundRobinPickers } from './round-robin.ts';
import { SourceBalancer } from './source-balancer.ts';

export type { LbContext, LbHost, LoadBalancer } from './host.ts';
export { xxHash32 } from './xxhash32.ts';

export interface RefreshableLoadBalancer extends LoadBalancer {
  // Call after any host's health changes; host membership changes build a new balancer.
  refresh(): void;
}

// Envoy's default; Legate's model has no active_request_bias field yet.
const ACTIVE_REQUEST_BIAS = 1;

// One balancer per cluster host set (per worker). `random` returns [0, 1); inject a seeded one
// for deterministic tests.
export function createLoadBalancer(
  policy: LbPolicy,
  hosts: readonly LbHost[],
  cluster: Cluster,
  random: () => number = Math.random,
): RefreshableLoadBalancer {
  const prioritySet = new PrioritySet(hosts, {
    overprovisioningFactor: cluster.loadAssignment.overprovisioningFactor,
    panicThresholdPercent: cluster.healthyPanicThresholdPercent,
    localityWeighted: cluster.localityWeightedLb,
  });
  switch (policy) {
    case 'ROUND_ROBIN':
      return new SourceBalancer(prioritySet, random, roundRobinPickers(random));
    case 'LEAST_REQUEST':
      return new SourceBalancer(
        prioritySet,
        random,
        leastRequestPickers(random, { choiceCount: cluster.leastRequestChoiceCount, activeRequestBias: ACTIVE_REQUEST_BIAS }),
      );
    case 'RANDOM':
      return new SourceBalancer(prioritySet, random, randomPickers(random));
    case 'RING_HASH': {
      const { minimumRingSize, maximumRingSize } = cluster.ringHash;
      return new HashBalancer(prioritySet, random, (w) => new RingHashTable(w, minimumRingSize, maximumRingSize));
    }
    case 'MAGLEV':
      return new HashBalancer(prioritySet, random, (w) => new MaglevTable(w, cluster.maglevTableSize));
    case 'CLUSTER_PROVIDED':
      throw new RangeError(`cluster ${cluster.name}: lb_policy CLUSTER_PROVIDED needs the cluster type's own balancer (ORIGINAL_DST)`);
  }
}
