// envoy.resource_monitors.global_downstream_max_connections (and the older runtime key
// overload.global_downstream_max_connections): the downstream connections of this process,
// counted as they are accepted, against a limit. Checked on every accept, not on the refresh
// timer, so the N+1st connection is refused at once. A listener with ignore_global_conn_limit
// neither counts nor is refused.
import type { OverloadManagerConfig } from '../config/model.ts';
import { runtime, runtimeKeys } from '../runtime/index.ts';
import type { ResourceMonitor } from './monitor.ts';

export class GlobalConnectionLimit implements ResourceMonitor {
  readonly name = 'envoy.resource_monitors.global_downstream_max_connections';
  /** The limit; Infinity when neither the monitor nor the runtime key sets one. */
  private readonly limit: () => number;
  active = 0;

  constructor(limit: () => number) {
    this.limit = limit;
  }

  /** One more connection, if the limit allows it (the caller releases it when it closes). */
  tryAcquire(): boolean {
    if (this.active >= this.limit()) return false;
    this.active++;
    return true;
  }

  release(): void {
    this.active--;
  }

  pressure(): number {
    const limit = this.limit();
    return limit === Infinity ? 0 : this.active / limit;
  }
}

/**
 * This process's share of a limit set for the whole proxy. Envoy counts in one process; Legate's
 * workers are processes that cannot share a counter on the accept path, so each worker takes an
 * equal share, rounded down (never more than the limit in all), at least one.
 */
export function workerShare(limit: number, workers: number): number {
  return limit === Infinity || workers <= 1 ? limit : Math.max(1, Math.floor(limit / workers));
}

/** What Envoy says at start-up about where the global connection limit comes from, if anything. */
export function connectionLimitWarning(config: OverloadManagerConfig | undefined): string | undefined {
  const fromRuntime = runtime.snapshot.get(runtimeKeys.GLOBAL_DOWNSTREAM_MAX_CONNECTIONS);
  if (fromRuntime === undefined) return undefined;
  const monitor = config?.monitors.some((m) => m.name === 'envoy.resource_monitors.global_downstream_max_connections') ?? false;
  return monitor
    ? `the global downstream connection limit is set both by the runtime key ${runtimeKeys.GLOBAL_DOWNSTREAM_MAX_CONNECTIONS} and by envoy.resource_monitors.global_downstream_max_connections; the resource monitor's is used`
    : `the runtime key ${runtimeKeys.GLOBAL_DOWNSTREAM_MAX_CONNECTIONS} is deprecated in Envoy; consider the overload manager's envoy.resource_monitors.global_downstream_max_connections`;
}

/**
 * The limit for this process from the monitor's config, or else from the runtime key (Istio's
 * bootstraps set it in a static layer), read on each accept so /runtime_modify applies at once.
 */
export function globalConnectionLimit(config: OverloadManagerConfig | undefined, workers: number): GlobalConnectionLimit {
  const monitor = config?.monitors.find((m) => m.name === 'envoy.resource_monitors.global_downstream_max_connections');
  if (monitor !== undefined && 'maxActiveDownstreamConnections' in monitor) {
    const share = workerShare(monitor.maxActiveDownstreamConnections, workers);
    return new GlobalConnectionLimit(() => share);
  }
  return new GlobalConnectionLimit(() => workerShare(runtime.snapshot.getInteger(runtimeKeys.GLOBAL_DOWNSTREAM_MAX_CONNECTIONS, Infinity), workers));
}
