// tcp_proxy.tunneling_config translation: the model it becomes (post_path's default, headers_to_add),
// and Envoy's refusals: post_path without use_post, host or pseudo-headers in headers_to_add, and
// what Legate does not build (propagate_response_headers/_trailers, format operators it lacks), each
// naming its field.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';
import type { TcpProxy } from '../../../proxy/config/model.ts';

const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const listener = (tunneling: object) => ({
  name: 'connect_originate',
  address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: 'hbone', cluster: 'c', tunneling_config: tunneling } }] }],
});
const tcpProxy = (tunneling: object) => translateListener(listener(tunneling)).listener.filterChains[0].network as TcpProxy;
const FIELD = 'filter_chains[0].filters[0].typed_config.tunneling_config';

t.test('CONNECT with a formatted hostname, and POST with its path', async (t) => {
  t.same(tcpProxy({ hostname: '%DOWNSTREAM_LOCAL_ADDRESS%' }).tunneling, { hostname: '%DOWNSTREAM_LOCAL_ADDRESS%', usePost: false, postPath: '/', headersToAdd: [] });
  const post = tcpProxy({
    hostname: 'h:443',
    use_post: true,
    post_path: '/tunnel',
    headers_to_add: [{ header: { key: 'X-Source', value: '%DOWNSTREAM_REMOTE_ADDRESS%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
  }).tunneling;
  t.same(post, {
    hostname: 'h:443',
    usePost: true,
    postPath: '/tunnel',
    headersToAdd: [{ key: 'x-source', value: '%DOWNSTREAM_REMOTE_ADDRESS%', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
  });
  t.equal(tcpProxy({ hostname: 'h:443', use_post: true }).tunneling?.postPath, '/', "post_path's default");
  // double-HBONE's inner connect_originate: the target from the connection's filter state.
  t.equal(tcpProxy({ hostname: '%FILTER_STATE(istio.double_hbone.hbone_target_address:PLAIN)%' }).tunneling?.hostname, '%FILTER_STATE(istio.double_hbone.hbone_target_address:PLAIN)%');
  t.equal((translateListener({ ...listener({}), filter_chains: [{ filters: [{ name: 'tcp', typed_config: { '@type': TCP_PROXY, stat_prefix: 's', cluster: 'c' } }] }] }).listener.filterChains[0].network as TcpProxy).tunneling, undefined, 'no tunneling_config: raw TCP');
});

t.test("Envoy's refusals, each naming its field", async (t) => {
  t.throws(() => tcpProxy({ hostname: 'h:443', post_path: '/x' }), { message: new RegExp(`${FIELD.replace(/[[\].]/g, '\\$&')}\\.post_path: can't set a post path when POST method isn't used`) });
  t.throws(() => tcpProxy({ hostname: 'h:443', headers_to_add: [{ header: { key: 'host', value: 'x' } }] }), { message: /headers_to_add\[0\]\.header\.key: header 'host' cannot be modified here/ });
  t.throws(() => tcpProxy({ hostname: 'h:443', headers_to_add: [{ header: { key: ':path', value: '/x' } }] }), { message: /header ':path' cannot be modified here/ });
  t.throws(() => tcpProxy({ hostname: '' }), { message: /tunneling_config\.hostname/ }, 'hostname is required (min_len 1)');
});

t.test('what Legate does not build is refused by name', async (t) => {
  t.throws(() => tcpProxy({ hostname: 'h:443', headers_to_add: [{ header: { key: 'baggage', value: '%NO_SUCH_OPERATOR%' } }] }), {
    message: /headers_to_add\[0\]\.header\.value: not supported by Legate: unknown command operator %NO_SUCH_OPERATOR%/,
  });
  t.throws(() => tcpProxy({ hostname: '100%' }), { message: /tunneling_config\.hostname: no valid %COMMAND% at position 3/ });
  // Newer than Legate's protos: refused as an unknown field, with the hint that says so.
  t.throws(() => tcpProxy({ hostname: 'h:443', request_id_extension: {} }), { message: /tunneling_config\.request_id_extension: unknown field 'request_id_extension'.*not supported by Legate/ });
  for (const field of ['propagate_response_headers', 'propagate_response_trailers']) {
    t.throws(() => tcpProxy({ hostname: 'h:443', [field]: true }), { message: new RegExp(`tunneling_config\\.${field}: field '${field}' of envoy\\.extensions\\.filters\\.network\\.tcp_proxy\\.v3\\.TcpProxy\\.TunnelingConfig is not supported by Legate`) });
  }
});
