// Bootstrap pieces for internal listener tests: the bootstrap extension, a cluster whose endpoint
// is an internal listener, and internal listeners with an HCM or tcp_proxy chain.
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
