// Where Envoy is lenient, Legate is too: enum names in any case (Envoy's own examples write
// `type: strict_dns`); and where Legate refuses, its hints never suggest weakening a transport.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';

const cluster = (extra: object) => ({
  name: 'a',
  connect_timeout: '1s',
  load_assignment: { cluster_name: 'a', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'localhost', port_value: 80 } } } }] }] },
  ...extra,
});

t.test('enum names in lower case', async (t) => {
  const boot = translateBootstrap({ static_resources: { clusters: [cluster({ type: 'strict_dns', lb_policy: 'least_request', dns_lookup_family: 'v4_only' })] } });
  t.equal(boot.clusters[0].type, 'STRICT_DNS');
  t.equal(boot.clusters[0].lbPolicy, 'LEAST_REQUEST');
  t.throws(() => translateBootstrap({ static_resources: { clusters: [cluster({ type: 'strictdns' })] } }), /unknown value "strictdns" for enum/, 'a wrong name is still wrong');
});

t.test('an unknown field may be a newer Envoy field', async (t) => {
  t.throws(() => translateBootstrap({ static_resources: { clusters: [cluster({ shiny_new_option: true })] } }),
    /unknown field 'shiny_new_option' in envoy\.config\.cluster\.v3\.Cluster \(a misspelling, or a field of a newer Envoy than Legate's API \(not supported by Legate\)/);
});

t.test('hints about transport sockets never suggest removing security', async (t) => {
  const tls = (typed: object) => cluster({ transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', ...typed } } });
  const err = (() => {
    try {
      translateBootstrap({ static_resources: { clusters: [tls({ max_session_keys: 3 })] } });
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  })();
  t.match(err, /max_session_keys: field 'max_session_keys' of envoy\.extensions\.transport_sockets\.tls\.v3\.UpstreamTlsContext is not supported by Legate/);
  t.notMatch(err, /remove it/, 'no advice to remove a TLS field');
  t.throws(() => translateBootstrap({ static_resources: { clusters: [cluster({ type: 'STRICT_DNS', transport_socket: { name: 'envoy.transport_sockets.alts' } })] } }),
    /transport socket 'envoy\.transport_sockets\.alts' is not supported by Legate \(Legate secures connections with envoy\.transport_sockets\.tls only; raw_buffer would send this traffic in plain text\)/);
});

t.test('a single object where Envoy wants a list is a list of one', async (t) => {
  const boot = translateBootstrap({
    static_resources: {
      listeners: [{
        name: 'l',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [{ filters: { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'a' } } }],
      }],
      clusters: [cluster({ type: 'strict_dns' })],
    },
  });
  t.equal(boot.listeners[0].filterChains[0].network.kind, 'tcp_proxy');
});
