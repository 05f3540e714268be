// explain's filter chain: chosen by the listener's own matcher on the facts an https URL implies
// (SNI from the host, ALPN h2 and http/1.1) when the listener has a tls_inspector, with the
// criteria it met; no chain and no default is a closed connection.
import t from 'tap';
import { translateBootstrap } from '../../../proxy/config/index.ts';
import { explain } from '../../../proxy/explain/index.ts';
import { bootstrap, socketAddress, staticCluster, TCP_PROXY_TYPE } from '../../support/bootstrap.ts';

const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };
const tcp = (cluster: string) => [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: cluster, cluster } }];
const chains = [
  { name: 'exact', filter_chain_match: { server_names: ['api.example.com'] }, filters: tcp('a') },
  { name: 'wild', filter_chain_match: { server_names: ['*.example.com'], application_protocols: ['h2'] }, filters: tcp('b') },
  { name: 'plain', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: tcp('c') },
];
const clusters = ['a', 'b', 'c'].map((name, i) => staticCluster(name, [{ port: 9001 + i }]));
const inspected = translateBootstrap(bootstrap([{ name: 'edge', address: socketAddress('0.0.0.0', 443), listener_filters: [TLS_INSPECTOR], filter_chains: chains }], clusters));
const blind = translateBootstrap(bootstrap([{ name: 'edge', address: socketAddress('0.0.0.0', 443), filter_chains: chains }], clusters));

t.test('SNI and ALPN pick the chain, most specific server name first', async (t) => {
  const exact = explain(inspected, { url: 'https://api.example.com/' });
  t.same(exact.connection, { destination: '127.0.0.1:443', source: '127.0.0.1', transportProtocol: 'tls', serverName: 'api.example.com', applicationProtocols: ['h2', 'http/1.1'] });
  t.match(exact.filterChain, { name: 'exact', index: 0, why: ['server_names [api.example.com] match SNI api.example.com'], networkFilter: 'envoy.filters.network.tcp_proxy' });
  const wild = explain(inspected, { url: 'https://www.example.com/', source: '192.0.2.1:4000' });
  t.equal(wild.connection.source, '192.0.2.1:4000');
  t.same(wild.filterChain?.why, ['server_names [*.example.com] match SNI www.example.com', 'application_protocols [h2] match h2']);
  t.match(explain(inspected, { url: 'http://www.example.com:443/' }).filterChain, { name: 'plain', why: ['transport_protocol raw_buffer'] });
});

t.test('an IP literal sends no SNI; no chain left closes the connection', async (t) => {
  const e = explain(inspected, { url: 'https://10.0.0.1/' });
  t.equal(e.connection.serverName, '');
  t.equal(e.filterChain, null);
  t.same(e.notes, ['no filter chain matches and there is no default_filter_chain: the connection is closed']);
  t.equal(explain(inspected, { url: 'https://other.org/' }).filterChain, null);
});

t.test('without a tls_inspector the listener never sees the ClientHello', async (t) => {
  const e = explain(blind, { url: 'https://api.example.com/' });
  t.equal(e.connection.transportProtocol, 'raw_buffer');
  t.equal(e.connection.serverName, '');
  t.match(e.filterChain, { name: 'plain' });
});

const HTTP_INSPECTOR = { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } };
const inbound = (inspector: object) => translateBootstrap(bootstrap([{
  name: 'inbound',
  address: socketAddress('0.0.0.0', 15006),
  listener_filters: [inspector],
  filter_chains: [
    { name: 'http', filter_chain_match: { application_protocols: ['http/1.1', 'h2c'] }, filters: tcp('a') },
    { name: 'tcp', filters: tcp('b') },
  ],
}], clusters));

t.test('the http_inspector names a plain-text request HTTP/1.1, unless filter_disabled for its port', async (t) => {
  const http = explain(inbound(HTTP_INSPECTOR), { url: 'http://10.0.0.5:15006/' });
  t.same(http.connection.applicationProtocols, ['http/1.1']);
  t.match(http.filterChain, { name: 'http', why: ['application_protocols [http/1.1, h2c] match http/1.1'] });
  const disabled = explain(inbound({ ...HTTP_INSPECTOR, filter_disabled: { destination_port_range: { start: 15006, end: 15007 } } }), { url: 'http://10.0.0.5:15006/' });
  t.same(disabled.connection.applicationProtocols, []);
  t.match(disabled.filterChain, { name: 'tcp' });
});

t.test('a filter_chain_matcher listener: explain names the chain its matcher picks', async (t) => {
  const named = (name: string) => ({ action: { name, typed_config: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: name } } });
  const sniInput = { name: 'sni', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.ServerNameInput' } };
  const matched = translateBootstrap(bootstrap([{
    name: 'edge',
    address: socketAddress('0.0.0.0', 443),
    listener_filters: [TLS_INSPECTOR],
    filter_chains: chains,
    filter_chain_matcher: { matcher_tree: { input: sniInput, exact_match_map: { map: { 'www.example.com': named('exact') } } }, on_no_match: named('plain') },
  }], clusters));
  t.match(explain(matched, { url: 'https://www.example.com/' }).filterChain, { name: 'exact', why: ["filter_chain_matcher named 'exact'"] }, 'the matcher, not server_names');
  t.match(explain(matched, { url: 'https://api.example.com/' }).filterChain, { name: 'plain' }, 'on_no_match');
});
