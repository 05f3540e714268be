// A snapshot is one consistent set of resources: what a worker serves with. It is built by the
// primary from a config source (static bootstrap, files, xDS), validated as a whole, and sent to
// every worker, which compiles it once and swaps it in.
import type { Cluster, Listener, RouteConfig } from './model.ts';

export interface ResourceVersions {
  lds: string;
  cds: string;
  rds: Record<string, string>; // route config name -> version
  eds: Record<string, string>; // cluster load assignment name -> version
}

export interface Snapshot {
  version: number; // increases by one for every snapshot the primary builds
  listeners: Listener[];
  clusters: Cluster[]; // endpoints resolved into each cluster's loadAssignment
  routeConfigs: Record<string, RouteConfig>;
  versions: ResourceVersions;
}
