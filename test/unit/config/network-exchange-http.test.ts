// Istio's network filters before an HTTP connection manager: istio.metadata_exchange is kept on the
// connection manager (older istiods' virtualInbound); the network istio.stats and the exchange's
// enable_discovery there are refused by name.
import t from 'tap';
import { translateListener } from '../../../proxy/config/index.ts';
import type { HttpConnectionManager } from '../../../proxy/config/model.ts';
import { HCM_TYPE, ROUTER_TYPE, routes, socketAddress } from '../../support/bootstrap.ts';

const T = 'type.googleapis.com/';
const typedStruct = (type: string, value: object) => ({ '@type': `${T}udpa.type.v1.TypedStruct`, type_url: `${T}${type}`, value });
const exchange = (value: object) => ({ name: 'istio.metadata_exchange', typed_config: typedStruct('envoy.tcp.metadataexchange.config.MetadataExchange', value) });
const hcm = { name: 'hcm', typed_config: { '@type': HCM_TYPE, stat_prefix: 'in', route_config: routes([{ match: { prefix: '/' }, route: { cluster: 'c' } }]), http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }] } };
const translate = (filters: object[]) => translateListener({ name: 'virtualInbound', address: socketAddress('127.0.0.1', 0), filter_chains: [{ filters }] });

t.test('the exchange before a connection manager', async (t) => {
  const { listener, warnings } = translate([exchange({ protocol: 'istio-peer-exchange' }), hcm]);
  t.match((listener.filterChains[0].network as HttpConnectionManager).metadataExchange, { protocol: 'istio-peer-exchange', enableDiscovery: false });
  t.same(warnings, []);
  t.throws(() => translate([exchange({ protocol: 'istio-peer-exchange', enable_discovery: true }), hcm]), /not supported by Legate: enable_discovery of the network istio\.metadata_exchange before an http_connection_manager/);
  t.throws(() => translate([{ name: 'istio.stats', typed_config: typedStruct('stats.PluginConfig', {}) }, hcm]), /Istio's network istio\.stats runs before tcp_proxy only/);
});
