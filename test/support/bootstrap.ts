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

export const FILE_LOG_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
export const STDOUT_LOG_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';

/**
 * An access_log entry for a file: Envoy's default format, a text format string, or a json_format
 * object.
 */
export function fileAccessLog(path: string, format?: string | Record<string, unknown>) {
  const logFormat = format === undefined ? {} : { log_format: typeof format === 'string' ? { text_format_source: { inline_string: format } } : { json_format: format } };
  return { name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_LOG_TYPE, path, ...logFormat } };
}

/** A STRICT_DNS or LOGICAL_DNS cluster of one hostname. */
export function dnsCluster(name: string, type: 'STRICT_DNS' | 'LOGICAL_DNS', hostname: string, port: number, extra: object = {}) {
  return staticCluster(name, [{ address: hostname, port }], { type, ...extra });
}
