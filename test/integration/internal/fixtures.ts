// Bootstrap pieces for internal listener tests: the bootstrap extension, a cluster whose endpoint
// is an internal listener, internal listeners with an HCM or tcp_proxy chain, and a service's
// cluster of workloads behind connect_originate as istiod writes it for a waypoint.
import { HCM_TYPE, ROUTER_TYPE, TCP_PROXY_TYPE, routes } from '../../support/bootstrap.ts';

export const INTERNAL_LISTENER_EXTENSION = {
  name: 'envoy.bootstrap.internal_listener',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener', buffer_size_kb: 64 },
};

export const internalCluster = (name: string, listener: string, extra: object = {}) => ({
  name,
  type: 'STATIC',
  connect_timeout: '1s',
  load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { envoy_internal_address: { server_listener_name: listener } } } }] }] },
  ...extra,
});

/** An internal listener whose HTTP connection manager routes everything to `cluster`. */
export const internalHttpListener = (name: string, cluster: string, hcmExtra: object = {}) => ({
  name,
  internal_listener: {},
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
    '@type': HCM_TYPE,
    stat_prefix: name,
    route_config: routes([{ match: { prefix: '/' }, route: { cluster } }]),
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
    ...hcmExtra,
  } }] }],
});

export const internalTcpListener = (name: string, cluster: string, tcpExtra: object = {}) => ({
  name,
  internal_listener: {},
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: name, cluster, ...tcpExtra } }] }],
});

export const ORIGINAL_DST_METADATA = 'envoy.filters.listener.original_dst';

/**
 * A service's cluster: its workloads as internal endpoints on connect_originate, as istiod writes
 * them; `waypoint`: the address istiod adds when the workload is reached through a waypoint.
 */
export function serviceCluster(name: string, workloads: string[], waypoint?: string) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    metadata: { filter_metadata: { istio: { services: [{ host: `${name}.default.svc.cluster.local`, name, namespace: 'default' }] } } },
    transport_socket: {
      name: 'envoy.transport_sockets.internal_upstream',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport',
        passthrough_metadata: [{ kind: { host: {} }, name: ORIGINAL_DST_METADATA }, { kind: { cluster: {} }, name: 'istio' }],
        transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } },
      },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: workloads.map((w) => ({
        endpoint: { address: { envoy_internal_address: { server_listener_name: 'connect_originate', endpoint_id: w } } },
        metadata: { filter_metadata: { [ORIGINAL_DST_METADATA]: { local: w, ...(waypoint === undefined ? {} : { waypoint }) } } },
      })) }],
    },
  };
}
