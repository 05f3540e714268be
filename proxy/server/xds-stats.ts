// Envoy's stats for dynamic config, in the primary's store: per subscription
// <prefix>.update_attempt/_success/_rejected/_failure/_empty, init_fetch_timeout, version (a hash
// of version_info) and update_time (ms since the epoch); listener_manager.listener_added/... and
// cluster_manager.cluster_added/...; how many listeners and clusters are active and warming.
import { createHash } from 'node:crypto';
import type { Store } from '../stats/index.ts';
import type { Applied, Composition } from './xds-state.ts';

const TYPE_PREFIXES = { lds: 'listener_manager.lds', cds: 'cluster_manager.cds' };
const ACCEPTED_COUNTERS: readonly string[] = ['update_attempt', 'update_success'];
const ACCEPTED_GAUGES: readonly string[] = ['version', 'update_time'];

export class XdsStats {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  prefixes(kind: 'lds' | 'cds'): string[] {
    return [TYPE_PREFIXES[kind]];
  }

  count(prefixes: string[], name: string): void {
    for (const prefix of prefixes) this.#store.counter(`${prefix}.${name}`).inc();
  }

  // Every accepted resource has these four (EDS: one per cluster), so they are stats groups.
  accepted(prefixes: string[], version: string): void {
    const hash = versionHash(version);
    const now = Date.now();
    for (const prefix of prefixes) {
      for (const counter of this.#store.counters(`${prefix}.`, ACCEPTED_COUNTERS)) counter.inc();
      const [versionGauge, updateTime] = this.#store.gauges(`${prefix}.`, ACCEPTED_GAUGES, 'never');
      versionGauge.set(hash);
      updateTime.set(now);
    }
  }

  rejected(prefixes: string[]): void {
    this.count(prefixes, 'update_attempt');
    this.count(prefixes, 'update_rejected');
  }

  // The stream failed while subscribed.
  failed(prefixes: string[]): void {
    this.count(prefixes, 'update_attempt');
    this.count(prefixes, 'update_failure');
  }

  changes(kind: 'lds' | 'cds', applied: Applied): void {
    const [manager, what] = kind === 'lds' ? ['listener_manager', 'listener'] : ['cluster_manager', 'cluster'];
    this.#store.counter(`${manager}.${what}_added`).inc(applied.added.length);
    this.#store.counter(`${manager}.${what}_modified`).inc(applied.modified.length);
    this.#store.counter(`${manager}.${what}_removed`).inc(applied.removed.length);
  }

  gauges(composition: Composition): void {
    const { parts, warmingListeners, warmingClusters } = composition;
    this.#store.gauge('listener_manager.total_listeners_active', 'never').set(parts.listeners.length);
    this.#store.gauge('listener_manager.total_listeners_warming', 'never').set(warmingListeners.length);
    this.#store.gauge('cluster_manager.active_clusters', 'never').set(parts.clusters.length);
    this.#store.gauge('cluster_manager.warming_clusters', 'never').set(warmingClusters.length);
  }
}

// Envoy's version gauge is a 64-bit hash of version_info; a gauge here is a double, so 48 bits.
export function versionHash(version: string): number {
  return createHash('sha256').update(version).digest().readUIntBE(0, 6);
}
