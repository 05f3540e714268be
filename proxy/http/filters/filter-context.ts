// What every HTTP filter is built with, and the filter type the connection manager runs.
import type { HttpFilter } from '../../http-filter/index.ts';
import type { StreamInfo } from '../../access-log/index.ts';
import type { RateLimitService } from '../../ratelimit/index.ts';
import type { RouteTable } from '../../router/index.ts';
import type { Store } from '../../stats/index.ts';
import type { ClusterManager } from '../../upstream/index.ts';
import type { HttpStream } from '../stream.ts';
import type { WorkloadLookup } from '../../istio/workload-index.ts';

export type HttpFilterInstance = HttpFilter<HttpStream>;

export interface FilterNode {
  id: string;
  metadata: Record<string, unknown>;
}

export interface FilterContext {
  store: Store;
  statPrefix: string;
  log(line: string): void;
  /** Worker processes serving this config (1 unless given): local rate limits split by it. */
  workers?: number;
  /** node.cluster, Envoy's local service cluster (the source_cluster rate limit descriptor). */
  localCluster?: string;
  /** The embedded rate limit service of node.metadata["legate.ratelimit"], when configured. */
  rateLimitService?: RateLimitService;
  /** The connection manager's current route table: a filter that clears the route cache looks the route up again. */
  routeTable?: () => RouteTable<StreamInfo> | undefined;
  /** The worker's clusters: filters that call a service (ext_authz) reach it through them. */
  clusters?: ClusterManager;
  /** The bootstrap's node id and metadata (Istio's filters: who this proxy is). */
  node?: FilterNode;
  /** Istio's workload discovery: who is at an address (empty without the bootstrap extension). */
  workloads?: WorkloadLookup;
  /** The server fails health checks (admin /healthcheck/fail), as Envoy's healthCheckFailed(). */
  healthCheckFailed?: () => boolean;
  /** A cluster's stat name (alt_stat_name, else its name); undefined when there is no such cluster. */
  clusterStatName(cluster: string): string | undefined;
}
