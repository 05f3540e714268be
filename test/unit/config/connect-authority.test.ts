// Istio's io.istio.http.connect_authority translated as istiod wrote it (TypedStruct, on the filter
// and per route), and set_internal_dst_address reading the object it shares: the authority as the
// local address, the tunnel address with the route's port; a value that is not an address skipped;
// the endpoint's `tunnel` metadata first.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager, Listener } from '../../../proxy/config/model.ts';
import { CONNECT_AUTHORITY_KEY, ConnectAuthority, FilterState, ORIGINAL_DST_ADDRESS_KEY } from '../../../proxy/filter-state/index.ts';
import type { ConnectionFacts } from '../../../proxy/listener/filter-chain.ts';
import { setInternalDstAddress } from '../../../proxy/listener/set-internal-dst-address.ts';
import { HCM_TYPE, ROUTER_TYPE, socketAddress } from '../../support/bootstrap.ts';

const T = 'type.googleapis.com/';
const typedStruct = (value?: object) => ({ '@type': `${T}udpa.type.v1.TypedStruct`, type_url: `${T}io.istio.http.connect_authority.Config`, ...(value === undefined ? {} : { value }) });

function translate(filterValue?: object, routeValue: object = { enabled: true }) {
  const hcm = {
    '@type': HCM_TYPE,
    stat_prefix: 'connect_terminate',
    route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{
      match: { connect_matcher: {} },
      route: { cluster: 'main_internal', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] },
      typed_per_filter_config: { connect_authority: typedStruct(routeValue) },
    }] }] },
    http_filters: [{ name: 'connect_authority', typed_config: typedStruct(filterValue) }, { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
  };
  const { listener, routeConfigs, warnings } = translateListener({ name: 'connect_terminate', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters: [{ name: 'hcm', typed_config: hcm }] }] });
  const network = listener.filterChains[0].network as HttpConnectionManager;
  return { hcm: network, route: routeConfigs.find((r) => r.name === network.routeConfigName)!.virtualHosts[0].routes[0], warnings };
}

t.test('translated: the filter, and the route\'s enabled and port', async (t) => {
  const { hcm, route, warnings } = translate(undefined, { enabled: true, port: 15008 });
  t.same(hcm.httpFilters.map((f) => f.type), ['io.istio.http.connect_authority.Config', 'envoy.extensions.filters.http.router.v3.Router']);
  t.same(route.typedPerFilterConfig.connect_authority, { enabled: true, port: 15008 });
  t.same(warnings, []);
  t.match(translate({ enabled: true }).warnings, [/typed_config\.enabled: .*only a route's enables it.* is ignored by Legate/], "the filter's own fields are Istio's no-ops: warned");
  t.throws(() => translate(undefined, { enabled: true, authority: 'x' }), /field 'authority' of io\.istio\.http\.connect_authority\.Config is not supported by Legate/);
});

t.test('set_internal_dst_address takes the object connect_authority shared', async (t) => {
  const listener = { listenerFilters: [{ type: 'istio.set_internal_dst_address.v1.Config' }] } as unknown as Listener;
  const facts = (object?: ConnectAuthority): ConnectionFacts => {
    const filterState = new FilterState();
    if (object !== undefined) filterState.set(CONNECT_AUTHORITY_KEY, object);
    return { destinationIp: '', destinationPort: 0, sourceIp: '127.0.0.1', sourcePort: 1, directSourceIp: '127.0.0.1', serverName: '', transportProtocol: 'raw_buffer', applicationProtocols: [], filterState };
  };
  const plain = setInternalDstAddress(listener, undefined, facts(new ConnectAuthority('10.0.0.7:8080', 0)));
  t.same([plain.destinationIp, plain.destinationPort], ['10.0.0.7', 8080], 'the authority is the local address');
  t.equal(plain.filterState?.get(ORIGINAL_DST_ADDRESS_KEY)?.asString(), '10.0.0.7:8080', 'and the tunnel address');
  const ported = setInternalDstAddress(listener, undefined, facts(new ConnectAuthority('[fd00::7]:8080', 15008)));
  t.same([ported.destinationIp, ported.destinationPort], ['fd00::7', 8080]);
  t.equal(ported.filterState?.get(ORIGINAL_DST_ADDRESS_KEY)?.asString(), '[fd00::7]:15008', 'the tunnel port replaces the authority\'s');
  const named = setInternalDstAddress(listener, undefined, facts(new ConnectAuthority('svc.ns.svc.cluster.local:80', 0)));
  t.same([named.destinationIp, named.filterState?.get(ORIGINAL_DST_ADDRESS_KEY)], ['', undefined], 'a name, not an address: skipped, as Istio');
  const both = setInternalDstAddress(listener, { tunnel: { destination: '10.0.0.9:9090' } }, facts(new ConnectAuthority('10.0.0.7:8080', 0)));
  t.same([both.destinationIp, both.destinationPort], ['10.0.0.9', 9090], 'the endpoint\'s tunnel metadata comes first');
});
