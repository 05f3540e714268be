// What the primary and its workers say to each other: the calls a worker serves and the small typed
// messages that carry them over IPC. Plain data only (structured-clone and JSON safe); this file
// imports no runtime code, so the primary's handles and the worker depend on it and not on each
// other.
import type { ClusterLoadAssignment } from '../config/model.ts';
import type { Snapshot } from '../config/snapshot.ts';
import type { BoundListener } from '../listener/index.ts';
import type { WorkloadUpdate } from '../istio/workload-index.ts';
import type { SnapshotDelta } from './snapshot-delta.ts';

/** What a worker answers to a snapshot: the version it now serves and the sockets it holds. */
export interface ApplyResult {
  version: number;
  listeners: BoundListener[];
}

/** A cluster's new hosts (an EDS update), applied without a new snapshot. */
export interface EndpointUpdate {
  cluster: string;
  loadAssignment: ClusterLoadAssignment;
}

export interface HostHealthUpdate {
  source: 'active' | 'outlier';
  cluster: string;
  address: string;
  unhealthy: boolean; // failed active check, or ejected
}

export interface WorkerMemory {
  pid: number;
  rss_bytes: number;
  heap_used_bytes: number;
  /** The V8 heap's committed size (Envoy's server.memory_heap_size next to memory_allocated): V8 grows it under a high allocation rate and keeps it. */
  heap_total_bytes: number;
  /** Memory outside the V8 heap that JS objects hold: Buffers (request and response bodies) and the like. */
  external_bytes: number;
  /** Event-loop delay since the previous memory request (event-loop-delay.ts). */
  event_loop_delay_p99_ms: number;
  event_loop_delay_max_ms: number;
  applied_snapshot_version: number;
}

export type WorkerRequest =
  | { kind: 'apply'; snapshot: Snapshot }
  | { kind: 'applyDelta'; delta: SnapshotDelta }
  | { kind: 'endpoints'; version: number; updates: EndpointUpdate[] }
  | { kind: 'stats' }
  | { kind: 'clusters' }
  | { kind: 'stopAccepting' }
  | { kind: 'drain'; timeoutMs: number }
  | { kind: 'memory' }
  | { kind: 'reopenLogs' }
  | { kind: 'runtime'; admin: Record<string, string> }
  | { kind: 'healthCheckFailed'; failed: boolean }
  | { kind: 'hostHealth'; updates: HostHealthUpdate[] }
  | { kind: 'workloads'; update: WorkloadUpdate };

/** Primary to worker. */
export interface RequestMessage {
  legate: 'request';
  id: number;
  request: WorkerRequest;
}

/** Worker to primary, the answer to one request. */
export interface ReplyMessage {
  legate: 'reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** Worker to primary, unasked. */
export interface EventMessage {
  legate: 'event';
  outlier: HostHealthUpdate;
}
