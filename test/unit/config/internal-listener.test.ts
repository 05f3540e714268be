// Translation of internal listeners, envoy_internal_address endpoints and the internal_upstream
// transport socket, and what is refused by name around them.
import t from 'tap';
import { translateBootstrap, translateCluster, translateListener } from '../../../proxy/config/index.ts';

const EXTENSION = { name: 'envoy.bootstrap.internal_listener', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener' } };
const TCP = (cluster: string) => ({ filters: [{ name: 'tcp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 's', cluster } }] });
const internalEndpoint = (name: string, id = '', metadata?: object) => ({
  endpoint: { address: { envoy_internal_address: { server_listener_name: name, endpoint_id: id } } },
  ...(metadata === undefined ? {} : { metadata: { filter_metadata: metadata } }),
});
const cluster = (extra: object, endpoints: object[] = [internalEndpoint('inner')]) => ({
  name: 'c', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: endpoints }] }, ...extra,
});
const INTERNAL_UPSTREAM = (extra: object = {}) => ({
  name: 'envoy.transport_sockets.internal_upstream',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport',
    transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } },
    ...extra,
  },
});

t.test('an envoy_internal_address endpoint', async (t) => {
  const { cluster: c } = translateCluster(cluster({}, [internalEndpoint('inner', '10.0.0.1:80', { tunnel: { a: 1 }, 'envoy.transport_socket_match': { m: 'x' } })]));
  const e = c.loadAssignment.endpoints[0].lbEndpoints[0];
  t.same(e.address, { address: 'envoy://inner/10.0.0.1:80', port: 0, internal: { serverListenerName: 'inner', endpointId: '10.0.0.1:80' } }, "Envoy's text of the address");
  t.same(e.metadata, { tunnel: { a: 1 }, 'envoy.transport_socket_match': { m: 'x' } }, 'an internal host keeps its metadata for internal_upstream');
  const socketHost = translateCluster(cluster({}, [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } }, metadata: { filter_metadata: { tunnel: {} } } }])).cluster;
  t.equal(socketHost.loadAssignment.endpoints[0].lbEndpoints[0].metadata, undefined, 'other hosts do not');
  t.throws(() => translateCluster(cluster({}, [internalEndpoint('')])), /envoy_internal_address\.server_listener_name: required field is missing/);
  t.throws(() => translateCluster(cluster({ type: 'STRICT_DNS' })), /a STRICT_DNS cluster cannot resolve an internal address/);
  t.throws(() => translateBootstrap({ static_resources: { clusters: [cluster({ health_checks: [{ timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }] })] } }),
    /health_checks: not supported by Legate: health checks of a cluster with internal \(envoy_internal_address\) endpoints/);
});

t.test('internal_listener: a name, no address; an internal address is no listener address', async (t) => {
  const { listener } = translateListener({ name: 'inner', internal_listener: {}, filter_chains: [TCP('c')] });
  t.equal(listener.internal, true);
  t.throws(() => translateListener({ internal_listener: {}, filter_chains: [TCP('c')] }), /name: required field is missing/);
  t.throws(() => translateListener({ name: 'x', internal_listener: {}, address: { socket_address: { address: '127.0.0.1', port_value: 1 } }, filter_chains: [TCP('c')] }), /address: an internal listener has no address/);
  t.throws(() => translateListener({ name: 'x', address: { envoy_internal_address: { server_listener_name: 'x' } }, filter_chains: [TCP('c')] }), /address\.envoy_internal_address: an internal address is for cluster endpoints only/);
  const boot = translateBootstrap({ bootstrap_extensions: [EXTENSION], static_resources: { listeners: [{ name: 'inner', internal_listener: {}, filter_chains: [TCP('c')] }], clusters: [cluster({})] } });
  t.equal(boot.listeners[0].name, 'inner');
});

t.test('internal_upstream: passthrough from the host or the cluster, raw_buffer or TLS inside', async (t) => {
  const { cluster: c } = translateCluster(cluster({
    metadata: { filter_metadata: { istio: { services: [{ host: 'a.default.svc.cluster.local', name: 'a', namespace: 'default' }] } } },
    transport_socket: INTERNAL_UPSTREAM({ passthrough_metadata: [{ kind: { host: {} }, name: 'tunnel' }, { kind: { cluster: {} }, name: 'istio' }] }),
  }));
  t.same(c.internalUpstream, { passthrough: [{ kind: 'host', name: 'tunnel' }, { kind: 'cluster', name: 'istio', value: { services: [{ host: 'a.default.svc.cluster.local', name: 'a', namespace: 'default' }] } }] });
  t.equal(c.tls, undefined, 'no TLS');
  t.throws(() => translateCluster(cluster({ transport_socket: INTERNAL_UPSTREAM({ passthrough_metadata: [{ kind: { request: {} }, name: 'x' }] }) })),
    /passthrough_metadata\[0\]\.kind: not supported by Legate: metadata passed through from the request or route/);
  const tlsInside = INTERNAL_UPSTREAM();
  tlsInside.typed_config.transport_socket = { name: 'tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni: 'inner.test' } } as never;
  const secured = translateCluster(cluster({ transport_socket: tlsInside })).cluster;
  t.match(secured.tls, { sni: 'inner.test' }, 'TLS inside internal_upstream secures the internal connection');
  t.same(secured.internalUpstream, { passthrough: [] });
  const unknownInside = INTERNAL_UPSTREAM();
  unknownInside.typed_config.transport_socket = { name: 'envoy.transport_sockets.alts' } as never;
  t.throws(() => translateCluster(cluster({ transport_socket: unknownInside })), /transport_socket\.typed_config\.transport_socket\.name: transport socket 'envoy\.transport_sockets\.alts' is not supported by Legate/);
});
