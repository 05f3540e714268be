import type { LbHost } from './host.ts';

// Envoy balances a list whose weights are all equal without a weighted scheduler.
export function equalWeights(hosts: readonly LbHost[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i].weight !== hosts[0].weight) return false;
  return true;
}

// Whether a rebuilt list holds the same hosts in the same order: then the balancing state built
// over the old list is still right and is kept.
export function sameHosts(a: readonly LbHost[], b: readonly LbHost[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
