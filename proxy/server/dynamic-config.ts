// Resources from a control plane (ADS, state of the world or delta) or from watched files
// (path_config_source), merged with the bootstrap's static resources into complete snapshots.
// (Being written: see issue 5.)
import type { BootstrapConfig } from '../config/index.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { Store } from '../stats/index.ts';

export type SnapshotParts = Omit<Snapshot, 'version'>;

export interface DynamicConfigOptions {
  store: Store;
  log(line: string): void;
  /** Applies a complete, validated resource set to the workers; rejects if a worker could not. */
  update(parts: SnapshotParts): Promise<void>;
}

export function hasDynamicResources(boot: BootstrapConfig): boolean {
  const d = boot.dynamicResources;
  return d.ads !== undefined || d.lds !== undefined || d.cds !== undefined;
}

export class DynamicConfigSource {
  constructor(_boot: BootstrapConfig, _options: DynamicConfigOptions) {
    throw new Error('dynamic_resources (xDS and path_config_source) are not wired yet');
  }

  /** Resolves once the first complete config was applied, or the initial fetch timed out. */
  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  configDump(): Record<string, unknown> {
    return {};
  }
}
