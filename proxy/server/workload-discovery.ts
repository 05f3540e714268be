// Istio's workload discovery in the primary (the metadata_discovery bootstrap extension): the
// Workload resources istiod serves over the ADS stream are translated, kept in an index by address
// and sent on to the workers as what changed (delta ADS: the workloads added or changed and the
// uids removed; state of the world: the whole set). A response with a resource that does not
// translate is NACKed as a whole. Stats are Istio's proxy's: the subscription's
// workload_discovery.update_* and the gauge workload_discovery.total (addresses indexed).
import type { ResourceUpdate, UpdateResult } from '../../xds-client/index.ts';
import { translateWorkload } from '../config/index.ts';
import type { Store } from '../stats/index.ts';
import { WorkloadIndex, type WorkloadUpdate } from '../istio/workload-index.ts';
import { XdsStats } from './xds-stats.ts';

const PREFIX = ['workload_discovery'];

export interface WorkloadDiscoveryOptions {
  store: Store;
  log(line: string): void;
  /** Sends an update to every worker. */
  broadcast(update: WorkloadUpdate): Promise<void>;
}

export class WorkloadDiscovery {
  readonly #options: WorkloadDiscoveryOptions;
  readonly #index = new WorkloadIndex();
  readonly #stats: XdsStats;
  /** The last refused update, for Legate's section of /config_dump. */
  lastRejected: { version: string; error: string; time: number } | undefined;

  constructor(options: WorkloadDiscoveryOptions) {
    this.#options = options;
    this.#stats = new XdsStats(options.store);
    options.store.gauge('workload_discovery.total', 'never').set(0);
  }

  async update(update: ResourceUpdate): Promise<UpdateResult> {
    let change: WorkloadUpdate;
    try {
      // The resource's name is its uid, which removals name.
      const workloads = update.resources.map((r) => ({ ...translateWorkload(r.resource, `workloads["${r.name}"]`), uid: r.name }));
      change = { reset: update.complete, workloads, removed: update.complete ? [] : update.removed };
    } catch (err) {
      const error = (err as Error).message;
      this.rejected(update.version, error);
      return { ok: false, error };
    }
    this.#index.apply(change);
    await this.#options.broadcast(change);
    this.#stats.accepted(PREFIX, update.version);
    this.#options.store.gauge('workload_discovery.total', 'never').set(this.#index.size);
    return { ok: true };
  }

  /** Everything held, for a worker that starts; undefined while there is nothing. */
  all(): WorkloadUpdate | undefined {
    const workloads = [...this.#index.workloads()];
    return workloads.length === 0 ? undefined : { reset: true, workloads, removed: [] };
  }

  rejected(version: string, error: string): void {
    this.#stats.rejected(PREFIX);
    this.lastRejected = { version, error, time: Date.now() };
    this.#options.log(`workload discovery: update "${version}" rejected, keeping the workloads held: ${error}`);
  }

  /** The ADS stream failed while subscribed. */
  failed(): void {
    this.#stats.failed(PREFIX);
  }

  initialFetchTimedOut(): void {
    this.#stats.count(PREFIX, 'init_fetch_timeout');
  }
}
