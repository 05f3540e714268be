// The layered runtime of one process (Envoy's Runtime::Loader): the bootstrap's layers in order,
// later layers overriding earlier ones, the admin layer being the one /runtime_modify writes.
// Every change builds a new snapshot. One per process: the primary keeps the authoritative admin
// layer and sends it to each worker, whose loader applies it (with --workers 1 they share this one).
import type { RuntimeLayerConfig } from '../config/model.ts';
import { parseEntry, type RuntimeEntry } from './entry.ts';
import { EMPTY_SNAPSHOT, RuntimeSnapshot } from './snapshot.ts';

interface Layer {
  name: string;
  admin: boolean;
  entries: Map<string, RuntimeEntry>;
}

/** GET /runtime: Envoy's JSON shape. */
export interface RuntimeJson {
  layers: string[];
  entries: Record<string, { layer_values: string[]; final_value: string }>;
}

export class RuntimeLoader {
  private layers: Layer[] = [];
  private current: RuntimeSnapshot = EMPTY_SNAPSHOT;

  get snapshot(): RuntimeSnapshot {
    return this.current;
  }

  /** The bootstrap's layered_runtime, with an empty admin layer (the primary sends a worker its values). */
  configure(configs: readonly RuntimeLayerConfig[]): void {
    this.layers = configs.map((c) => ({
      name: c.name,
      admin: c.kind === 'admin',
      entries: c.kind === 'static' ? new Map(Object.entries(c.values).map(([k, v]) => [k, parseEntry(v)])) : new Map(),
    }));
    this.rebuild();
  }

  hasAdminLayer(): boolean {
    return this.layers.some((l) => l.admin);
  }

  /** /runtime_modify: each key set to its value; an empty value removes the key. */
  modify(changes: Record<string, string>): void {
    const values = this.adminValues();
    for (const [key, value] of Object.entries(changes)) {
      if (value === '') delete values[key];
      else values[key] = value;
    }
    this.setAdminValues(values);
  }

  /** The admin layer's values as strings (what the primary sends its workers). */
  adminValues(): Record<string, string> {
    const admin = this.layers.find((l) => l.admin);
    return admin === undefined ? {} : Object.fromEntries([...admin.entries].map(([k, e]) => [k, e.raw]));
  }

  setAdminValues(values: Record<string, string>): void {
    const admin = this.layers.find((l) => l.admin);
    if (admin !== undefined) admin.entries = new Map(Object.entries(values).map(([k, v]) => [k, parseEntry(v)]));
    this.rebuild();
  }

  json(): RuntimeJson {
    const keys = new Set(this.layers.flatMap((l) => [...l.entries.keys()]));
    const entries: RuntimeJson['entries'] = {};
    for (const key of [...keys].sort()) {
      entries[key] = { layer_values: this.layers.map((l) => l.entries.get(key)?.raw ?? ''), final_value: this.current.get(key) ?? '' };
    }
    return { layers: this.layers.map((l) => l.name), entries };
  }

  private rebuild(): void {
    const merged = new Map<string, RuntimeEntry>();
    for (const layer of this.layers) for (const [k, e] of layer.entries) merged.set(k, e);
    this.current = merged.size === 0 ? EMPTY_SNAPSHOT : new RuntimeSnapshot(merged);
  }
}

/** This process's runtime. */
export const runtime = new RuntimeLoader();
