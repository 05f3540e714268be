// Small builders for Envoy v3 bootstrap objects in tests: the same shapes a user writes in YAML.
export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

export function socketAddress(address: string, port: number) {
  return { socket_address: { address, port_value: port } };
}

export function staticCluster(name: string, endpoints: { port: number; weight?: number; address?: string }[], extra: object = {}) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: endpoints.map((e) => ({
            endpoint: { address: socketAddress(e.address ?? '127.0.0.1', e.port) },
            ...(e.weight !== undefined ? { load_balancing_weight: e.weight } : {}),
          })),
        },
      ],
    },
    ...extra,
  };
}

export function httpListener(name: string, routeConfig: object, hcmExtra: object = {}) {
  return {
    name,
    address: socketAddress('127.0.0.1', 0),
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM_TYPE,
              stat_prefix: name,
              route_config: routeConfig,
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
              ...hcmExtra,
            },
          },
        ],
      },
    ],
  };
}

export function bootstrap(listeners: object[], clusters: object[], extra: object = {}) {
  return {
    node: { id: 'test', cluster: 'test' },
    admin: { address: socketAddress('127.0.0.1', 0) },
    static_resources: { listeners, clusters },
    ...extra,
  };
}

/** A route config with one virtual host '*' and the given routes. */
export function routes(list: object[], vhostExtra: object = {}) {
  return { name: 'local_route', virtual_hosts: [{ name: 'all', domains: ['*'], routes: list, ...vhostExtra }] };
}
