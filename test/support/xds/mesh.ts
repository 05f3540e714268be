// A mesh of N services as istiod describes it to a sidecar, for scale tests and bench/mesh-scale.ts:
// an EDS cluster per service (outbound|80||<host>), its load assignment, one route config "80"
// with a virtual host per service (Istio's outbound routes for port 80), and one listener using it.
import type { JsonObject } from '../../../xds-client/index.ts';
import { rdsListener } from './fixtures.ts';

const TYPE = 'type.googleapis.com/';

export function serviceHost(i: number): string {
  return `svc-${i}.ns-${i % 20}.svc.cluster.local`;
}

export function serviceCluster(i: number): string {
  return `outbound|80||${serviceHost(i)}`;
}

function meshCluster(i: number): JsonObject {
  const name = serviceCluster(i);
  return {
    '@type': `${TYPE}envoy.config.cluster.v3.Cluster`,
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' }, service_name: name },
    connect_timeout: '10s',
    lb_policy: 'LEAST_REQUEST',
    circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295 }] },
    metadata: { filter_metadata: { istio: { services: [{ host: serviceHost(i), name: `svc-${i}`, namespace: `ns-${i % 20}` }] } } },
  };
}

/** The load assignment of service i: its endpoints, all on 127.0.0.1. */
export function meshLoadAssignment(i: number, ports: number[]): JsonObject {
  return {
    '@type': `${TYPE}envoy.config.endpoint.v3.ClusterLoadAssignment`,
    cluster_name: serviceCluster(i),
    endpoints: [{
      locality: { region: 'r1', zone: 'z1' },
      lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } }, load_balancing_weight: 1 })),
    }],
  };
}

function meshVirtualHost(i: number): JsonObject {
  const host = serviceHost(i);
  const short = `svc-${i}`;
  return {
    name: `${host}:80`,
    domains: [host, `${host}:80`, short, `${short}:80`, `${short}.ns-${i % 20}`, `${short}.ns-${i % 20}:80`],
    routes: [{
      name: 'default',
      match: { prefix: '/' },
      route: {
        cluster: serviceCluster(i),
        timeout: '0s',
        retry_policy: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: 2, retriable_status_codes: [503] },
        max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' },
      },
      decorator: { operation: `${host}:80/*` },
    }],
    include_request_attempt_count: true,
  };
}

/** A small route config beside the mesh's (a sidecar's inbound routes), its responses tagged `x-route: <tag>`. */
export function inboundRouteConfig(cluster: string, tag: string): JsonObject {
  return {
    '@type': `${TYPE}envoy.config.route.v3.RouteConfiguration`,
    name: 'inbound|8080',
    virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster }, response_headers_to_add: [{ header: { key: 'x-route', value: tag } }] }] }],
  };
}

export interface MeshResources {
  clusters: JsonObject[];
  loadAssignments: JsonObject[];
  routeConfig: JsonObject; // "80", every service's virtual host
  listener: JsonObject; // 'outbound' on 127.0.0.1 taking "80" over ADS
  inbound: JsonObject; // 'inbound' on 127.0.0.1:0 taking 'inbound|8080' (inboundRouteConfig) over ADS
}

/** N services, each with one endpoint on `port`; the listener on `listenerPort` (default 0). */
export function meshResources(n: number, port: number, listenerPort = 0): MeshResources {
  const ids = Array.from({ length: n }, (_, i) => i);
  return {
    clusters: ids.map(meshCluster),
    loadAssignments: ids.map((i) => meshLoadAssignment(i, [port])),
    routeConfig: { '@type': `${TYPE}envoy.config.route.v3.RouteConfiguration`, name: '80', virtual_hosts: ids.map(meshVirtualHost), validate_clusters: false },
    listener: rdsListener('outbound', '80', { port: listenerPort }),
    inbound: rdsListener('inbound', 'inbound|8080'),
  };
}
