// set_filter_state, translated and run: istiod's connect_authority values become the model; a
// factory Legate has no object for, a JSON value and a format operator Legate lacks are refused by
// name; the setter formats each value against the stream, skips what skip_if_empty or the factory
// rejects, keeps read-only objects, and %FILTER_STATE()% reads what was set.
import t from 'tap';
import { StreamInfo, compileTemplate } from '../../../proxy/access-log/index.ts';
import { translateListener } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, SetFilterStateConfig } from '../../../proxy/config/model.ts';
import { AddressObject, FilterState } from '../../../proxy/filter-state/index.ts';
import { FilterStateSetter } from '../../../proxy/listener/index.ts';

const T = 'type.googleapis.com/';
const HTTP_SFS = `${T}envoy.extensions.filters.http.set_filter_state.v3.Config`;
const NETWORK_SFS = `${T}envoy.extensions.filters.network.set_filter_state.v3.Config`;
const value = (objectKey: string, format: string, extra: object = {}) => ({ object_key: objectKey, format_string: { text_format_source: { inline_string: format } }, ...extra });
// istiod's ConnectAuthorityFilter (pilot/pkg/xds/filters), as 1.29.2 and later send it.
const CONNECT_AUTHORITY = [
  value('envoy.filters.listener.original_dst.local_ip', '%REQ(:AUTHORITY)%', { shared_with_upstream: 'ONCE' }),
  value('io.istio.connect_authority', '%REQ(:AUTHORITY)%', { factory_key: 'istio.hashable_string', shared_with_upstream: 'ONCE' }),
  value('envoy.filters.listener.original_dst.remote_ip', '%DOWNSTREAM_REMOTE_ADDRESS%', { shared_with_upstream: 'ONCE' }),
  value('io.istio.peer_principal', '%DOWNSTREAM_PEER_URI_SAN%', { factory_key: 'istio.hashable_string', shared_with_upstream: 'ONCE' }),
  value('io.istio.local_principal', '%DOWNSTREAM_LOCAL_URI_SAN%', { factory_key: 'istio.hashable_string', shared_with_upstream: 'ONCE' }),
];

function listener(httpFilters: object[], networkFilters: object[] = []) {
  return {
    name: 'connect_terminate',
    address: { socket_address: { address: '0.0.0.0', port_value: 15008 } },
    filter_chains: [{ filters: [...networkFilters, { name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
      stat_prefix: 'connect_terminate',
      route_config: { name: 'default', virtual_hosts: [{ name: 'default', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'main_internal' } }] }] },
      http_filters: [...httpFilters, { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }],
    } }] }],
  };
}
const httpSfs = (values: object[]) => ({ name: 'connect_authority', typed_config: { '@type': HTTP_SFS, on_request_headers: values } });

t.test("istiod's connect_authority and the network filter become the model", async (t) => {
  const { listener: l } = translateListener(listener([httpSfs(CONNECT_AUTHORITY)], [
    { name: 'connect_authority', typed_config: { '@type': NETWORK_SFS, on_new_connection: [value('envoy.filters.listener.original_dst.local_ip', '%FILTER_STATE(envoy.filters.listener.original_dst.local_ip:PLAIN)%', { shared_with_upstream: 'ONCE' })] } },
  ]));
  const hcm = l.filterChains[0].network as HttpConnectionManager;
  const config = hcm.httpFilters[0].config as SetFilterStateConfig;
  t.same(config.onRequestHeaders.map((v) => [v.objectKey, v.factoryKey, v.sharedWithUpstream]), [
    ['envoy.filters.listener.original_dst.local_ip', 'envoy.filters.listener.original_dst.local_ip', 'ONCE'],
    ['io.istio.connect_authority', 'istio.hashable_string', 'ONCE'],
    ['envoy.filters.listener.original_dst.remote_ip', 'envoy.filters.listener.original_dst.remote_ip', 'ONCE'],
    ['io.istio.peer_principal', 'istio.hashable_string', 'ONCE'],
    ['io.istio.local_principal', 'istio.hashable_string', 'ONCE'],
  ]);
  t.same(config.onRequestHeaders[0], { objectKey: 'envoy.filters.listener.original_dst.local_ip', factoryKey: 'envoy.filters.listener.original_dst.local_ip', format: '%REQ(:AUTHORITY)%', readOnly: false, sharedWithUpstream: 'ONCE', skipIfEmpty: false });
  t.same(l.filterChains[0].setFilterState?.map((v) => v.format), ['%FILTER_STATE(envoy.filters.listener.original_dst.local_ip:PLAIN)%']);
});

t.test('refused by name', async (t) => {
  t.throws(() => translateListener(listener([httpSfs([value('my.key', 'x')])])), /on_request_headers\[0\]\.object_key: not supported by Legate: filter state object factory 'my\.key'.*envoy\.string/);
  t.throws(() => translateListener(listener([httpSfs([value('k', 'x', { factory_key: 'envoy.network.upstream_subject_alt_names' })])])), /on_request_headers\[0\]\.factory_key: not supported by Legate: filter state object factory 'envoy\.network\.upstream_subject_alt_names'/);
  t.throws(() => translateListener(listener([httpSfs([value('k', '%NO_SUCH_OPERATOR%', { factory_key: 'envoy.string' })])])), /format_string: not supported by Legate: unknown command operator %NO_SUCH_OPERATOR%/);
  t.throws(() => translateListener(listener([httpSfs([{ object_key: 'k', factory_key: 'envoy.string', format_string: { json_format: { a: '%PROTOCOL%' } } }])])), /format_string\.json_format: not supported by Legate/);
  // istiod's waypoint set_dst_address: the CEL formatter.
  t.throws(() => translateListener(listener([httpSfs([{ ...value('k', '%CEL(x)%', { factory_key: 'envoy.string' }), format_string: { formatters: [{ name: 'envoy.formatter.cel', typed_config: { '@type': `${T}envoy.extensions.formatter.cel.v3.Cel` } }], text_format_source: { inline_string: '%CEL(x)%' } } }])])), /formatters/);
});

t.test('the setter: formats, skips, keeps read-only, shares', async (t) => {
  const info = new StreamInfo();
  info.authority = '10.1.2.3:8080';
  info.downstreamRemoteAddress = '10.9.9.9:40000';
  info.downstreamPeerUriSan = 'spiffe://cluster.local/ns/default/sa/sleep';
  const connection = new FilterState();
  const state = new FilterState(connection);
  info.filterState = state;
  const translated = (values: object[]) => (((translateListener(listener([httpSfs(values)])).listener.filterChains[0].network as HttpConnectionManager).httpFilters[0].config) as SetFilterStateConfig).onRequestHeaders;
  new FilterStateSetter(translated(CONNECT_AUTHORITY), 'FilterChain').apply(info, state);
  const local = state.get('envoy.filters.listener.original_dst.local_ip') as AddressObject;
  t.ok(local instanceof AddressObject, 'the well-known key made an address');
  t.same([local.ip, local.port], ['10.1.2.3', 8080]);
  t.equal(state.get('io.istio.connect_authority')?.asString(), '10.1.2.3:8080');
  t.equal(state.get('io.istio.peer_principal')?.asString(), 'spiffe://cluster.local/ns/default/sa/sleep');
  t.equal(state.get('io.istio.local_principal')?.asString(), '-', "a missing value formats as '-', as Envoy's text formatter");
  t.same(state.sharedWithUpstream()?.map((s) => s.key), CONNECT_AUTHORITY.map((v) => v.object_key), 'all five go to the upstream connection');
  t.notOk(connection.has('io.istio.connect_authority'), 'life span FilterChain: the stream, not its connection');

  // A hostname authority is not an address: local_ip is not set (Envoy: the factory makes nothing).
  const named = new FilterState(new FilterState());
  info.authority = 'svc.ns.svc.cluster.local:80';
  info.filterState = named;
  new FilterStateSetter(translated(CONNECT_AUTHORITY), 'FilterChain').apply(info, named);
  t.notOk(named.has('envoy.filters.listener.original_dst.local_ip'));
  t.equal(named.get('io.istio.connect_authority')?.asString(), 'svc.ns.svc.cluster.local:80');

  const more = new FilterState(new FilterState());
  info.filterState = more;
  new FilterStateSetter(translated([
    value('ro', 'first', { factory_key: 'envoy.string', read_only: true }),
    value('ro', 'second', { factory_key: 'envoy.string' }),
    value('empty', '%REQ(x-absent)%', { factory_key: 'envoy.string', skip_if_empty: true }),
    value('copy', 'was %FILTER_STATE(ro:PLAIN)%', { factory_key: 'envoy.string', shared_with_upstream: 'TRANSITIVE' }),
  ]), 'FilterChain').apply(info, more);
  t.equal(more.get('ro')?.asString(), 'first', 'read-only: the second value did not replace it');
  t.equal(more.get('empty')?.asString(), '-', "skip_if_empty skips only '': a missing header is '-'");
  t.equal(more.get('copy')?.asString(), 'was first', 'a later value reads an earlier one');
  t.same(more.sharedWithUpstream()?.map((s) => [s.key, s.sharing]), [['copy', 'TRANSITIVE']]);
});

t.test('%FILTER_STATE()% in the formatter', async (t) => {
  const info = new StreamInfo();
  const format = (template: string) => compileTemplate(template)(info);
  t.equal(format('[%FILTER_STATE(k:PLAIN)%]'), '[]', 'no filter state: nothing');
  info.filterState = new FilterState();
  info.filterState.set('k', AddressObject.parse('[fd00::1]:15008')!);
  t.equal(format('%FILTER_STATE(k:PLAIN)%'), '[fd00::1]:15008');
  t.equal(format('%FILTER_STATE(k)%'), '"[fd00::1]:15008"', 'TYPED (the default): a JSON string');
  t.equal(format('%FILTER_STATE(k:FIELD:port)%/%FILTER_STATE(k:FIELD:ip)%'), '15008/fd00::1');
  t.equal(format('%FILTER_STATE(k:PLAIN):5%'), '[fd00', 'the length limit applies');
  t.throws(() => compileTemplate('%FILTER_STATE(k:RAW)%'), /%FILTER_STATE\(k:RAW\)% takes KEY, KEY:PLAIN, KEY:TYPED or KEY:FIELD:NAME/);
  t.throws(() => compileTemplate('%FILTER_STATE()%'), /needs an argument/);
});
