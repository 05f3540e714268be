// What the admin endpoints read and do: implemented by the primary, so the admin knows nothing
// of processes or workers.
import type { Node } from '../config/model.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { MergedStats } from '../stats/index.ts';
import type { ClusterStatus } from '../upstream/index.ts';

export interface AdminContext {
  readonly node: Node;
  readonly startTime: number;
  readonly state: 'INITIALIZING' | 'LIVE' | 'DRAINING';
  readonly snapshot: Snapshot;
  readonly applied: { version: number; listeners: { name: string; address: string; port: number }[] } | null;
  readonly options: { configPath: string; workers: number; mode: string; drainTimeMs: number };
  healthCheckFailed: boolean;
  ready(): boolean;
  stats(): Promise<MergedStats>;
  clusters(): Promise<ClusterStatus[]>;
  drainListeners(): Promise<void>;
  reopenLogs(): Promise<void>;
  shutdown(): Promise<void>;
  /** Extra sections for /config_dump from config sources (xDS versions, last rejected update). */
  configDumpExtras?(): Record<string, unknown>;
  /** Worker memory figures for /server_info. */
  memory?(): Promise<Record<string, unknown>>;
}

export interface AdminRequest {
  method: string;
  url: URL;
}

export interface AdminResponse {
  status: number;
  contentType: string;
  body: string;
}

export type AdminHandler = (ctx: AdminContext, req: AdminRequest) => Promise<AdminResponse> | AdminResponse;

export const text = (body: string, status = 200): AdminResponse => ({ status, contentType: 'text/plain; charset=UTF-8', body });
export const json = (value: unknown, status = 200): AdminResponse => ({ status, contentType: 'application/json', body: JSON.stringify(value, null, 2) + '\n' });
