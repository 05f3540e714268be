// Load-balancer test doubles: hosts whose health a test sets, a Cluster with the balancers'
// defaults, and a seeded random source so that every run picks the same way.
import type { Cluster } from '../../proxy/config/model.ts';
import type { LbHost } from '../../proxy/upstream/lb/host.ts';

export type HostStatus = 'healthy' | 'degraded' | 'unhealthy';

export class TestHost implements LbHost {
  readonly address: string;
  readonly weight: number;
  readonly priority: number;
  readonly localityKey: string;
  readonly localityWeight: number;
  activeRequests = 0;
  status: HostStatus = 'healthy';

  constructor(address: string, weight = 1, priority = 0, localityKey = 'r/z/', localityWeight = 0) {
    this.address = address;
    this.weight = weight;
    this.priority = priority;
    this.localityKey = localityKey;
    this.localityWeight = localityWeight;
  }

  healthy(): boolean {
    return this.status === 'healthy';
  }

  degraded(): boolean {
    return this.status === 'degraded';
  }
}

/** A cluster as createLoadBalancer reads it: Envoy's defaults, `over` on top. */
export function lbCluster(name: string, over: Partial<Cluster> = {}): Cluster {
  return {
    name,
    lbPolicy: 'ROUND_ROBIN',
    loadAssignment: { clusterName: name, endpoints: [], overprovisioningFactor: 140 },
    healthyPanicThresholdPercent: 50,
    localityWeightedLb: false,
    ringHash: { minimumRingSize: 1024, maximumRingSize: 8388608 },
    maglevTableSize: 65537,
    leastRequestChoiceCount: 2,
    ...over,
  } as Cluster;
}

// mulberry32: a small seeded PRNG.
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
