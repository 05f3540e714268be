// How the primary talks to a worker: the same calls whether the worker is in this process
// (--workers 1) or a node:cluster child reached over IPC with small typed request/reply messages.
import type { Worker as ClusterWorker } from 'node:cluster';
import type { Snapshot } from '../config/snapshot.ts';
import type { StatsSnapshot } from '../stats/index.ts';
import type { ClusterStatus } from '../upstream/index.ts';
import { eventLoopDelaySinceLastRead } from './event-loop-delay.ts';
import { snapshotDelta } from './snapshot-delta.ts';
import type { ApplyResult, EndpointUpdate, EventMessage, HostHealthUpdate, ReplyMessage, RequestMessage, WorkerMemory, WorkerRequest } from './messages.ts';
import type { Worker } from './worker.ts';
import type { WorkloadUpdate } from '../istio/workload-index.ts';

export interface WorkerHandle {
  readonly id: number;
  apply(snapshot: Snapshot): Promise<ApplyResult>;
  /** New hosts for some clusters of the snapshot applied last: `snapshot` is the result. */
  endpoints(snapshot: Snapshot, updates: EndpointUpdate[]): Promise<void>;
  stats(): Promise<StatsSnapshot>;
  clusters(): Promise<ClusterStatus[]>;
  stopAccepting(): Promise<void>;
  drain(timeoutMs: number): Promise<void>;
  memory(): Promise<WorkerMemory>;
  reopenLogs(): Promise<void>;
  /** The runtime's admin layer (after /runtime_modify, and for a new worker). */
  runtime(admin: Record<string, string>): Promise<void>;
  /** Admin /healthcheck/fail (true) and /healthcheck/ok (false), and for a new worker while failing. */
  healthCheckFailed(failed: boolean): Promise<void>;
  /** Host health learned elsewhere: active health checks (primary) or another worker's ejections. */
  hostHealth(updates: HostHealthUpdate[]): Promise<void>;
  /** Outlier ejections this worker decided, for the primary to pass on to the others. */
  onOutlierEjection(listener: (update: HostHealthUpdate) => void): void;
  /** Istio's workload discovery: what changed among the workloads istiod serves. */
  workloads(update: WorkloadUpdate): Promise<void>;
}

/** Runs a request against a worker object: the one dispatcher both handle kinds use. */
export async function serve(worker: Worker, request: WorkerRequest): Promise<unknown> {
  switch (request.kind) {
    case 'apply':
      return worker.apply(request.snapshot);
    case 'applyDelta':
      return worker.applyDelta(request.delta);
    case 'endpoints':
      return worker.applyEndpoints(request.version, request.updates);
    case 'stats':
      return worker.stats();
    case 'clusters':
      return worker.clusterStatuses();
    case 'stopAccepting':
      return worker.stopAccepting();
    case 'drain':
      return worker.drain(request.timeoutMs);
    case 'reopenLogs':
      return worker.reopenLogs();
    case 'runtime':
      return worker.setRuntimeAdminLayer(request.admin);
    case 'healthCheckFailed':
      return worker.setHealthCheckFailed(request.failed);
    case 'hostHealth':
      return worker.applyHostHealth(request.updates);
    case 'workloads':
      return worker.workloads.apply(request.update);
    case 'memory': {
      const m = process.memoryUsage();
      return { pid: process.pid, rss_bytes: m.rss, heap_used_bytes: m.heapUsed, heap_total_bytes: m.heapTotal, external_bytes: m.external, ...eventLoopDelaySinceLastRead(), applied_snapshot_version: worker.version } satisfies WorkerMemory;
    }
  }
}

abstract class BaseHandle implements WorkerHandle {
  abstract id: number;
  protected abstract call(request: WorkerRequest): Promise<unknown>;
  apply(snapshot: Snapshot): Promise<ApplyResult> {
    return this.call({ kind: 'apply', snapshot }) as Promise<ApplyResult>;
  }
  async endpoints(snapshot: Snapshot, updates: EndpointUpdate[]): Promise<void> {
    await this.call({ kind: 'endpoints', version: snapshot.version, updates });
  }
  stats(): Promise<StatsSnapshot> {
    return this.call({ kind: 'stats' }) as Promise<StatsSnapshot>;
  }
  clusters(): Promise<ClusterStatus[]> {
    return this.call({ kind: 'clusters' }) as Promise<ClusterStatus[]>;
  }
  async stopAccepting(): Promise<void> {
    await this.call({ kind: 'stopAccepting' });
  }
  async drain(timeoutMs: number): Promise<void> {
    await this.call({ kind: 'drain', timeoutMs });
  }
  memory(): Promise<WorkerMemory> {
    return this.call({ kind: 'memory' }) as Promise<WorkerMemory>;
  }
  async reopenLogs(): Promise<void> {
    await this.call({ kind: 'reopenLogs' });
  }
  async runtime(admin: Record<string, string>): Promise<void> {
    await this.call({ kind: 'runtime', admin });
  }
  async hostHealth(updates: HostHealthUpdate[]): Promise<void> {
    await this.call({ kind: 'hostHealth', updates });
  }
  async healthCheckFailed(failed: boolean): Promise<void> {
    await this.call({ kind: 'healthCheckFailed', failed });
  }
  async workloads(update: WorkloadUpdate): Promise<void> {
    await this.call({ kind: 'workloads', update });
  }
  abstract onOutlierEjection(listener: (update: HostHealthUpdate) => void): void;
}

export class LocalWorkerHandle extends BaseHandle {
  readonly id = 0;
  readonly worker: Worker;
  constructor(worker: Worker) {
    super();
    this.worker = worker;
  }
  protected call(request: WorkerRequest): Promise<unknown> {
    return serve(this.worker, request);
  }
  onOutlierEjection(listener: (update: HostHealthUpdate) => void): void {
    this.worker.clusters.onOutlierEjection((cluster, address, ejected) => listener({ source: 'outlier', cluster, address, unhealthy: ejected }));
  }
}

export class ClusterWorkerHandle extends BaseHandle {
  id = -1; // the worker slot it serves; -1 while it is the spare
  readonly startedAt = Date.now();
  private readonly child: ClusterWorker;
  private nextId = 1;
  private outlierListener: ((update: HostHealthUpdate) => void) | undefined;
  private sent: Snapshot | null = null; // what the worker holds, as the primary's objects
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(child: ClusterWorker) {
    super();
    this.child = child;
    child.on('message', (msg: ReplyMessage | EventMessage) => {
      if (msg?.legate === 'event') {
        this.outlierListener?.(msg.outlier);
        return;
      }
      if (msg?.legate !== 'reply') return;
      const waiter = this.pending.get(msg.id);
      if (waiter === undefined) return;
      this.pending.delete(msg.id);
      if (msg.ok) waiter.resolve(msg.value);
      else waiter.reject(new Error(msg.error));
    });
    // A send to a worker that just died reports through 'error'; the call's callback rejects it.
    child.on('error', () => {});
    child.once('exit', () => {
      for (const w of this.pending.values()) w.reject(new Error(`worker ${this.id} exited`));
      this.pending.clear();
    });
  }

  get process(): ClusterWorker {
    return this.child;
  }

  onOutlierEjection(listener: (update: HostHealthUpdate) => void): void {
    this.outlierListener = listener;
  }

  // Once the worker holds a snapshot it gets deltas from it (snapshot-delta.ts); after any failure
  // the next one is whole again.
  override async apply(snapshot: Snapshot): Promise<ApplyResult> {
    const base = this.sent;
    this.sent = null;
    const result = base === null ? await super.apply(snapshot) : (await this.call({ kind: 'applyDelta', delta: snapshotDelta(base, snapshot) }) as ApplyResult);
    this.sent = snapshot;
    return result;
  }

  override async endpoints(snapshot: Snapshot, updates: EndpointUpdate[]): Promise<void> {
    const base = this.sent;
    this.sent = null;
    await super.endpoints(snapshot, updates);
    if (base !== null) this.sent = snapshot;
  }

  get pid(): number | undefined {
    return this.child.process.pid;
  }

  protected call(request: WorkerRequest): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      const message: RequestMessage = { legate: 'request', id, request };
      const fail = (err: Error) => {
        this.pending.delete(id);
        reject(err);
      };
      if (!this.child.isConnected()) {
        fail(new Error(`worker ${this.id} is not running`));
        return;
      }
      this.child.send(message, (err: Error | null) => {
        if (err) fail(err);
      });
    });
  }
}
