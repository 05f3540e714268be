// Entry point of a node:cluster worker process: serve the primary's requests until told to stop.
// Importing this module does nothing (the primary imports it before forking, so that every module
// a worker loads is in Node's compile cache: see compile-cache.ts); it serves when it is the
// process's main module.
import type { EventMessage, ReplyMessage, RequestMessage } from './messages.ts';
import { serve } from './worker-handle.ts';
import { Worker, type FilterSettings } from './worker.ts';
import { dropPrivileges, runAsFromEnv } from './privileges.ts';
import { collectAfterLargeUpdate, collectAfterStart, LARGE_UPDATE } from './v8-heap.ts';
import { releaseFreeMemoryPeriodically } from '../allocator/index.ts';

function runWorkerProcess(): void {
  const mode = process.env.LEGATE_MODE === 'sidecar' ? 'sidecar' : 'ingress';
  const worker = new Worker({
    mode,
    reusePort: process.env.LEGATE_REUSE_PORT === '1',
    drainTimeMs: Number(process.env.LEGATE_DRAIN_TIME_MS ?? 600_000),
    log: (line) => console.error(`legate[worker ${process.pid}]: ${line}`),
    ...(JSON.parse(process.env.LEGATE_FILTER_CONTEXT ?? '{"workers":1,"localCluster":""}') as FilterSettings),
  });

  releaseFreeMemoryPeriodically();

  // --uid/--gid: root until the first snapshot's listeners are bound, the proxy user from then on.
  let runAs = runAsFromEnv(process.env);

  const reply = (message: ReplyMessage): void => {
    if (process.connected) process.send!(message);
  };

  process.on('message', (msg: RequestMessage) => {
    if (msg?.legate !== 'request') return;
    serve(worker, msg.request)
      .then((value) => {
        if (runAs !== undefined && msg.request.kind === 'apply') {
          dropPrivileges(runAs);
          runAs = undefined;
        }
        if (builtClusters(msg.request) >= LARGE_UPDATE) collectAfterLargeUpdate();
        else if (msg.request.kind === 'apply' || msg.request.kind === 'applyDelta') collectAfterStart();
        return value;
      })
      .then(
        (value) => reply({ legate: 'reply', id: msg.id, ok: true, value }),
        (err: Error) => reply({ legate: 'reply', id: msg.id, ok: false, error: err.message }),
      );
  });

  // Ejections decided here go to the primary, which tells the other workers.
  worker.clusters.onOutlierEjection((cluster, address, ejected) => {
    const event: EventMessage = { legate: 'event', outlier: { source: 'outlier', cluster, address, unhealthy: ejected } };
    if (process.connected) process.send!(event);
  });

  // The primary decides when we stop; a lost IPC channel means the primary is gone.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
}

function builtClusters(request: RequestMessage['request']): number {
  if (request.kind === 'apply') return request.snapshot.clusters.length;
  return request.kind === 'applyDelta' ? request.delta.clusters.length : 0;
}

if (import.meta.main) runWorkerProcess();
