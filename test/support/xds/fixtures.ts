// Small, valid Envoy resources as proto3 JSON with "@type", for xDS tests.
import type { JsonObject } from '../../../xds-client/index.ts';

const TYPE = 'type.googleapis.com/';

// ADS, or a watched file when a path is given.
export function configSourceOf(path: string | undefined): JsonObject {
  return path === undefined ? { ads: {}, resource_api_version: 'V3' } : { path_config_source: { path }, resource_api_version: 'V3' };
}

const ROUTER = [{ name: 'envoy.filters.http.router', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.router.v3.Router` } }];

/** A listener on 127.0.0.1 (port 0 unless given) whose HCM takes route config `routeConfigName` from RDS (ADS unless a path). */
export function rdsListener(name: string, routeConfigName: string, opts: { port?: number; rdsPath?: string } = {}): JsonObject {
  const configSource = configSourceOf(opts.rdsPath);
  return {
    '@type': `${TYPE}envoy.config.listener.v3.Listener`,
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: opts.port ?? 0 } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': `${TYPE}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
          stat_prefix: name,
          rds: { route_config_name: routeConfigName, config_source: configSource },
          http_filters: ROUTER,
        },
      }],
    }],
  };
}

export function loadAssignment(name: string, ports: number[]): JsonObject {
  return {
    '@type': `${TYPE}envoy.config.endpoint.v3.ClusterLoadAssignment`,
    cluster_name: name,
    endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
  };
}

/** A listener on 127.0.0.1:port taking route config `routeConfigName` over ADS. */
export function listener(name: string, port: number, routeConfigName: string): JsonObject {
  return rdsListener(name, routeConfigName, { port });
}

export function edsCluster(name: string): JsonObject {
  return {
    '@type': `${TYPE}envoy.config.cluster.v3.Cluster`,
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: '0.25s',
  };
}

export function routeConfig(name: string, cluster: string): JsonObject {
  return {
    '@type': `${TYPE}envoy.config.route.v3.RouteConfiguration`,
    name,
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '15s' } }] }],
  };
}

// The resource as the client hands it up: without "@type".
export function withoutType(json: JsonObject): JsonObject {
  const { '@type': _type, ...rest } = json;
  return rest;
}
