// Cross-resource checks over a set of translated resources: unique listener names and addresses,
// unique cluster names, HCMs pointing at route configs that exist, and (for static config) every
// cluster a route or tcp_proxy names being defined. Errors name the field through the source
// path the translators recorded, or a path built from resource names for other sources.
import { ConfigError, indexPath, joinPath, keyPath } from './errors.ts';
import type { Cluster, ClusterSpecifier, ExtAuthzConfig, HttpConnectionManager, Listener, RateLimitConfig, RouteConfig } from './model.ts';
import { sourcePathOf } from './translate/common.ts';
import { EXT_AUTHZ_TYPE, RATELIMIT_TYPE } from './extensions.ts';

export interface SnapshotParts {
  listeners: Listener[];
  clusters: Cluster[];
  routeConfigs: Record<string, RouteConfig>;
}

export interface ValidateOptions {
  // Check that every cluster named by routes and tcp proxies exists in parts.clusters. Off when
  // clusters come from CDS, where a route may name a cluster that has not arrived yet.
  checkClusterRefs?: boolean;
  // Route configs named by RDS must be in parts.routeConfigs (off while they may still arrive).
  checkRdsRefs?: boolean;
  // Ratelimit filters use Legate's embedded service, so their gRPC cluster need not exist.
  embeddedRateLimitService?: boolean;
}

export function validateSnapshot(parts: SnapshotParts, options: ValidateOptions = {}): void {
  const listenerNames = new Map<string, Listener>();
  const addresses = new Map<string, Listener>();
  parts.listeners.forEach((listener, i) => {
    const path = sourcePathOf(listener) ?? indexPath('listeners', i);
    const other = listenerNames.get(listener.name);
    if (other !== undefined) {
      throw new ConfigError(joinPath(path, 'name'), `duplicate listener name '${listener.name}'`, 'listener names must be unique');
    }
    listenerNames.set(listener.name, listener);
    const address = `${listener.address.address}:${listener.address.port}`;
    const sameAddress = addresses.get(address);
    if (listener.bindToPort && listener.address.port !== 0 && sameAddress !== undefined) {
      throw new ConfigError(joinPath(path, 'address'), `listener '${listener.name}' uses address ${address}, already used by listener '${sameAddress.name}'`, 'give each listener its own address or port');
    }
    if (listener.bindToPort) addresses.set(address, listener);
  });

  const clusterNames = new Set<string>();
  parts.clusters.forEach((cluster, i) => {
    if (clusterNames.has(cluster.name)) {
      const path = sourcePathOf(cluster) ?? indexPath('clusters', i);
      throw new ConfigError(joinPath(path, 'name'), `duplicate cluster name '${cluster.name}'`, 'cluster names must be unique');
    }
    clusterNames.add(cluster.name);
    checkPipeEndpoints(cluster, sourcePathOf(cluster) ?? indexPath('clusters', i));
  });

  const requireCluster = (name: string, path: string, what: string): void => {
    if (options.checkClusterRefs !== true || clusterNames.has(name)) return;
    const known = [...clusterNames].slice(0, 10).join(', ');
    throw new ConfigError(path, `unknown cluster '${name}'`, `${what}; define it in static_resources.clusters or fix the name${known === '' ? '' : ` (defined: ${known})`}`);
  };

  parts.listeners.forEach((listener, i) => {
    const listenerPath = sourcePathOf(listener) ?? indexPath('listeners', i);
    const chains = listener.defaultFilterChain === undefined ? listener.filterChains : [...listener.filterChains, listener.defaultFilterChain];
    chains.forEach((chain, j) => {
      const chainPath = sourcePathOf(chain) ?? indexPath(joinPath(listenerPath, 'filter_chains'), j);
      const network = chain.network;
      const networkPath = sourcePathOf(network) ?? joinPath(chainPath, 'filters');
      chain.extAuthz?.forEach((authz) => requireCluster(authz.service.cluster, joinPath(chainPath, 'filters'), 'the ext_authz network filter calls its authorization service there'));
      if (network.kind === 'tcp_proxy') {
        checkClusterSpecifier(network.cluster, networkPath, requireCluster, 'tcp_proxy forwards to it');
        return;
      }
      checkHcm(network, networkPath, parts, options, requireCluster);
    });
  });

  for (const [name, routeConfig] of Object.entries(parts.routeConfigs)) {
    const configPath = sourcePathOf(routeConfig) ?? keyPath('route_configs', name);
    routeConfig.virtualHosts.forEach((vhost, i) => {
      const vhostPath = sourcePathOf(vhost) ?? indexPath(joinPath(configPath, 'virtual_hosts'), i);
      vhost.routes.forEach((route, j) => {
        const routePath = sourcePathOf(route) ?? indexPath(joinPath(vhostPath, 'routes'), j);
        if (route.action.kind !== 'route') return;
        const actionPath = joinPath(routePath, 'route');
        checkClusterSpecifier(route.action.cluster, actionPath, requireCluster, 'the route sends requests to it');
        route.action.requestMirrorPolicies.forEach((mirror, k) => {
          const mirrorPath = sourcePathOf(mirror) ?? joinPath(indexPath(joinPath(actionPath, 'request_mirror_policies'), k), 'cluster');
          requireCluster(mirror.cluster, mirrorPath, 'the route mirrors requests to it');
        });
      });
    });
  }
}

function checkHcm(
  hcm: HttpConnectionManager,
  path: string,
  parts: SnapshotParts,
  options: ValidateOptions,
  requireCluster: (name: string, path: string, what: string) => void,
): void {
  if ((!hcm.rds || options.checkRdsRefs === true) && parts.routeConfigs[hcm.routeConfigName] === undefined) {
    throw new ConfigError(joinPath(path, hcm.rds ? 'rds.route_config_name' : 'route_config'), `unknown route configuration '${hcm.routeConfigName}'`, 'provide it through RDS or inline it as route_config');
  }
  hcm.httpFilters.forEach((filter, i) => {
    if (filter.type !== EXT_AUTHZ_TYPE) return;
    const service = (filter.config as ExtAuthzConfig).service;
    const field = service.kind === 'grpc' ? 'grpc_service.envoy_grpc.cluster_name' : 'http_service.server_uri.cluster';
    requireCluster(service.cluster, joinPath(indexPath(joinPath(path, 'http_filters'), i), `typed_config.${field}`), 'the ext_authz filter calls its authorization service there');
  });
  if (options.embeddedRateLimitService === true) return;
  hcm.httpFilters.forEach((filter, i) => {
    if (filter.type !== RATELIMIT_TYPE) return;
    const cluster = (filter.config as RateLimitConfig).grpcService.clusterName;
    const grpcPath = joinPath(indexPath(joinPath(path, 'http_filters'), i), 'typed_config.rate_limit_service.grpc_service');
    if (cluster === undefined) {
      throw new ConfigError(joinPath(grpcPath, 'google_grpc'), 'not supported by Legate: the ratelimit filter reaches its rate limit service through a cluster (envoy_grpc)', 'name the service\'s cluster in envoy_grpc.cluster_name, or configure Legate\'s embedded service (node.metadata["legate.ratelimit"], see proxy/ratelimit/README.md)');
    }
    requireCluster(cluster, joinPath(grpcPath, 'envoy_grpc.cluster_name'), 'the ratelimit filter calls its rate limit service there (or configure Legate\'s embedded service, see proxy/ratelimit/README.md)');
  });
}

function checkClusterSpecifier(
  spec: ClusterSpecifier,
  path: string,
  requireCluster: (name: string, path: string, what: string) => void,
  what: string,
): void {
  if (spec.kind === 'cluster') requireCluster(spec.name, sourcePathOf(spec) ?? joinPath(path, 'cluster'), what);
  if (spec.kind === 'weighted_clusters') {
    spec.clusters.forEach((c, i) => {
      requireCluster(c.name, sourcePathOf(c) ?? joinPath(indexPath(joinPath(path, 'weighted_clusters.clusters'), i), 'name'), what);
    });
  }
}

// Unix socket and internal endpoints (STATIC or EDS) are not health checked: the probes speak TCP
// to an IP and port.
function checkPipeEndpoints(cluster: Cluster, path: string): void {
  if (cluster.healthChecks.length === 0) return;
  for (const l of cluster.loadAssignment.endpoints) {
    for (const e of l.lbEndpoints) {
      const kind = e.address.pipe === true ? 'pipe' : e.address.internal !== undefined ? 'internal (envoy_internal_address)' : undefined;
      if (kind !== undefined) throw new ConfigError(joinPath(path, 'health_checks'), `not supported by Legate: health checks of a cluster with ${kind} endpoints ('${cluster.name}')`, 'remove health_checks, or give the endpoints a socket_address');
    }
  }
}
