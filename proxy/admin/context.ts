// What the admin endpoints read and do: implemented by the primary, so the admin knows nothing
// of processes or workers.
import type { Node } from '../config/model.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { MergedStats, StatsSettings } from '../stats/index.ts';
import type { ClusterStatus } from '../upstream/index.ts';

export interface AdminContext {
  readonly node: Node;
  readonly startTime: number;
  readonly state: 'INITIALIZING' | 'LIVE' | 'DRAINING';
  readonly snapshot: Snapshot;
  readonly applied: { version: number; listeners: { name: string; address: string; port: number; internal?: true }[] } | null;
  readonly options: { configPath: string; workers: number; mode: string; drainTimeMs: number };
  /** Admin /healthcheck/fail is in force (until /healthcheck/ok). */
  readonly healthCheckFailed: boolean;
  /** /healthcheck/fail (true) and /healthcheck/ok (false): in force in every worker when it resolves. */
  failHealthcheck(fail: boolean): Promise<void>;
  /** The bootstrap's stats_config: tags, which stats exist, histogram buckets. */
  readonly statsSettings?: StatsSettings;
  ready(): boolean;
  stats(): Promise<MergedStats>;
  /** /stats was read (stats_flush_on_admin flushes the sinks with what it read). */
  statsRead?(stats: MergedStats): void;
  clusters(): Promise<ClusterStatus[]>;
  drainListeners(): Promise<void>;
  reopenLogs(): Promise<void>;
  shutdown(): Promise<void>;
  /** The sections of /config_dump, in Envoy's shape (envoy.admin.v3.ConfigDump's configs). */
  configDump(includeEds: boolean): Record<string, unknown>[];
  /** /runtime: the layered runtime in Envoy's JSON shape. */
  runtime?(): unknown;
  /** /runtime_modify: false when no admin layer is configured. */
  modifyRuntime?(changes: Record<string, string>): Promise<boolean>;
  /** Worker memory figures for /server_info. */
  memory?(): Promise<Record<string, unknown>>;
  /** The control plane and the last rejected update of each xDS type; undefined without dynamic resources. */
  xdsStatus?(): XdsStatus | undefined;
}

export interface XdsStatus {
  controlPlane?: { address: string; connected: boolean };
  rejected: { type: 'lds' | 'cds' | 'rds' | 'eds'; source: string; version: string; error: string; time: number }[];
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

/** A response that stays open (server-sent events): the server writes the head, then `open` writes. */
export interface AdminStreamResponse {
  status: number;
  contentType: string;
  open(sink: AdminSink): void;
}

export interface AdminSink {
  write(chunk: string): void;
  /** Bytes written but not yet sent (a slow client). */
  buffered(): number;
  /** Called once when the client goes away or the admin closes. */
  onClose(listener: () => void): void;
}

export type AdminHandler = (ctx: AdminContext, req: AdminRequest) => Promise<AdminResponse> | AdminResponse;
export type AdminStreamHandler = (ctx: AdminContext, req: AdminRequest) => AdminStreamResponse;

export const text = (body: string, status = 200): AdminResponse => ({ status, contentType: 'text/plain; charset=UTF-8', body });
export const json = (value: unknown, status = 200): AdminResponse => ({ status, contentType: 'application/json', body: JSON.stringify(value, null, 2) + '\n' });
